import { z } from "zod";
import type { Config } from "../config";
import { FLOW_KEYS } from "../../flows";
import { actionInputSchema, STAGE_DECISIONS } from "../engine";
import { UsageError, type Flags, type Options } from "./args";
import { serviceClient, TOKEN_OPTION } from "./client";
import { printJson, readJsonFile, type CliIo, type Command } from "./runtime";

// `yunshen request …` talks to the running service over its REST API, so it works the same on PGlite
// (whose data directory the service holds) and on PostgreSQL, and is subject to the same roles and audit.

/** One field of an action's input as a flag: how it is spelled, and how its text becomes the field's value. */
interface ActionFlag {
  field: string;
  flag: string;
  kind: "text" | "number" | "file";
  required: boolean;
  values?: readonly string[];
}

// camelCase fields become kebab-case flags; a field holding an id takes the flag without it (--to-user, --stage-run).
const flagName = (field: string) => field.replace(/Id$/, "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function actionFlag(field: string, schema: z.ZodType): ActionFlag {
  let inner = schema;
  let required = true;
  while (inner instanceof z.ZodOptional) {
    required = false;
    inner = inner.unwrap() as z.ZodType;
  }
  const flag = flagName(field);
  if (inner instanceof z.ZodNumber) return { field, flag, kind: "number", required };
  // A structured value (the edited form) comes from a JSON file.
  if (inner instanceof z.ZodRecord || inner instanceof z.ZodObject) return { field, flag, kind: "file", required };
  return { field, flag, kind: "text", required, values: inner instanceof z.ZodEnum ? (inner.options as string[]) : undefined };
}

/** Each action's flags, from the engine's own input schema: a field added there is a flag here. */
const ACTIONS: ReadonlyMap<string, ActionFlag[]> = new Map(
  actionInputSchema.options.map((option) => {
    const { action, ...fields } = option.shape as Record<string, z.ZodType> & { action: z.ZodLiteral<string> };
    return [action.value, Object.entries(fields).map(([field, schema]) => actionFlag(field, schema))];
  }),
);
const ANY_ACTION = new Map([...ACTIONS.values()].flat().map((f) => [f.flag, f]));

const TOKEN = TOKEN_OPTION;
const flagOptions = (flags: Iterable<ActionFlag>): Options =>
  Object.fromEntries([...flags].map((f) => [f.flag, { type: "string" as const }]));
const LIST: Options = { ...TOKEN, view: { type: "string" }, status: { type: "string" } };
const SUBMIT: Options = { ...TOKEN, flow: { type: "string" } };

const placeholder = (f: ActionFlag) =>
  f.kind === "number" ? "N" : f.kind === "file" ? "FILE" : (f.values?.join("|") ?? f.flag.toUpperCase().replace(/-/g, "_"));
const shownFlag = (f: ActionFlag) => (f.required ? `--${f.flag} ${placeholder(f)}` : `[--${f.flag} ${placeholder(f)}]`);

const actionNames = [...ACTIONS.keys()];
const COMMON = `  request submit [--flow F] FILE            提交申请（申请表 JSON）；F 为 ${FLOW_KEYS.join("|")}，默认 application
  request list [--view mine|todo|all] [--status S]
  request show ID                           申请详情（id 或编号）
  request act ID ACTION [--参数 取值 …]     办理：${actionNames.slice(0, 7).join(" ")}
                                            ${actionNames.slice(7).join(" ")}`;

const USAGE = `${COMMON}
                                            （各操作的参数见 yunshen request --help）`;

const HELP = `${COMMON}
  各操作的参数：
${[...ACTIONS].map(([action, flags]) => `    ${action.padEnd(10)}${flags.map(shownFlag).join(" ")}`.trimEnd()).join("\n")}
  approve、confirm 等决定环节的操作不写 --stage 或 --stage-run 时，办理的是命令执行时申请所在的环节。
  每个命令都可用 --token 令牌 代替环境变量 YUNSHEN_TOKEN。`;

/** The action's body from its flags: numbers as numbers, a file's JSON as the value. */
function actionBody(action: string, flags: Flags): Record<string, unknown> {
  const body: Record<string, unknown> = { action };
  for (const f of ACTIONS.get(action) ?? ANY_ACTION.values()) {
    const text = flags[f.flag];
    if (text === undefined) continue;
    // Text that is not a whole number goes as it is, and the service names the field that is wrong.
    if (f.kind === "number") body[f.field] = /^-?\d+$/.test(text) ? Number(text) : text;
    else if (f.kind === "file") body[f.field] = readJsonFile(text, f.field === "form" ? "申请表文件" : `--${f.flag} 文件`);
    else body[f.field] = text;
  }
  return body;
}

const call = (io: CliIo, config: Config, flags: Flags, method: string, path: string, body?: unknown) => serviceClient(io, config, flags)(method, path, body);

export const request: Command = {
  section: "service",
  usage: USAGE,
  help: HELP,
  options: { ...LIST, ...SUBMIT, ...flagOptions(ANY_ACTION.values()) },
  optionsFor: ([sub, , action]) => {
    if (sub === "list") return LIST;
    if (sub === "submit") return SUBMIT;
    if (sub !== "act") return TOKEN;
    const flags = action === undefined ? undefined : ACTIONS.get(action);
    // An action the engine does not know still goes to the service, which names it as the field in error.
    return { ...TOKEN, ...flagOptions(flags ?? ANY_ACTION.values()) };
  },
  async run({ words: [sub, id, action], flags, config, io }) {
    switch (sub) {
      case "submit":
        if (!id) throw new UsageError("request submit 需要申请表文件");
        // Without --flow the service reads a 云资源申请; a flow it does not know is named by the service.
        printJson(io, await call(io, config, flags, "POST", "/api/requests", { ...(flags.flow ? { flow: flags.flow } : {}), form: readJsonFile(id, "申请表文件") }));
        return 0;
      case "list": {
        const query = new URLSearchParams();
        if (flags.view) query.set("view", flags.view);
        if (flags.status) query.set("status", flags.status);
        printJson(io, await call(io, config, flags, "GET", `/api/requests?${query}`));
        return 0;
      }
      case "show":
        if (!id) throw new UsageError("request show 需要申请 id 或编号");
        printJson(io, await call(io, config, flags, "GET", `/api/requests/${encodeURIComponent(id)}`));
        return 0;
      case "act": {
        if (!id || !action) throw new UsageError("request act 需要申请 id 和操作，如：request act YS-2026-00001 approve");
        const body = actionBody(action, flags);
        // Without --stage, the decision is bound to the stage the request is at as read now: a command run twice
        // by mistake then finds that stage decided rather than deciding the next one too.
        if (STAGE_DECISIONS.has(action) && body.stage === undefined && body.stageRunId === undefined) {
          const shown = (await call(io, config, flags, "GET", `/api/requests/${encodeURIComponent(id)}`)) as { currentStage?: { stage?: string } | null };
          if (shown?.currentStage?.stage) body.stage = shown.currentStage.stage;
        }
        printJson(io, await call(io, config, flags, "POST", `/api/requests/${encodeURIComponent(id)}/actions`, body));
        return 0;
      }
      default:
        throw new UsageError("request 支持 submit、list、show、act");
    }
  },
};
