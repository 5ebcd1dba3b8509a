import { parseArgs, type ParseArgsConfig } from "node:util";

/** The flags a command accepts, as node:util's parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig["options"]>;
/** Flag values by name; a boolean flag given is "true". */
export type Flags = Readonly<Record<string, string | undefined>>;

/**
 * The command line is wrong (a missing argument, an unknown command or flag): exit status 2, the reason on one
 * line, then the usage of the command it concerns (the whole CLI's when it concerns none).
 */
export class UsageError extends Error {
  constructor(
    message: string,
    public usage?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** `-h` and `--help`, which every command accepts. */
export const HELP_OPTIONS: Options = { help: { type: "boolean", short: "h" } };

function toFlags(values: Record<string, unknown>): Flags {
  const flags: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) if (value !== undefined) flags[name] = value === true ? "true" : String(value);
  return flags;
}

/**
 * The first word that is not a flag (or a flag's value), the words around it and every flag given: how the
 * command is found before its own flags are known. Nothing is refused here; `parseStrict` does that.
 */
export function locateCommand(argv: string[], options: Options): { command?: string; rest: string[]; words: string[]; flags: Flags } {
  const { values, positionals, tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((t) => t.kind === "positional");
  if (!first) return { rest: argv, words: [], flags: toFlags(values) };
  return {
    command: first.value,
    rest: argv.filter((_, i) => i !== first.index),
    words: positionals.slice(1),
    flags: toFlags(values),
  };
}

/** Levenshtein distance, for suggesting the flag or command that was meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length]!;
}

/** The candidate nearest to `word` if it is near enough to be a typo of it (at most 2 edits, and not most of the word). */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.min(2, Math.floor(word.length / 2)) ? best.name : undefined;
}

/** The flag an error of parseArgs is about: its messages quote it first ("Option '--user <value>' …"). */
const quotedFlag = (message: string) => /'(-{1,2}[^'\s]+)/.exec(message)?.[1];

/** Parses a command's words and flags; a flag it does not accept, or one without its value, is a UsageError. */
export function parseStrict(args: string[], options: Options): { words: string[]; flags: Flags } {
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { words: positionals, flags: toFlags(values) };
  } catch (err) {
    const code = (err as { code?: string }).code;
    const flag = quotedFlag(String((err as Error).message)) ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const meant = nearest(flag.replace(/^-+/, ""), Object.keys(options));
      throw new UsageError(`不认识的参数 ${flag}${meant ? `，你是不是想用 --${meant}？` : ""}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const message = (err as Error).message;
      if (/does not take an argument/.test(message)) throw new UsageError(`参数 ${flag} 不带取值`);
      // A value that starts with "-" is taken for a flag; `--text=-5` passes it.
      throw new UsageError(`参数 ${flag} 缺少取值${/ambiguous/.test(message) ? `（以 - 开头的取值请写成 ${flag}=取值）` : ""}`);
    }
    throw err;
  }
}
