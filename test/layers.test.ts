import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The layering of design.md, checked on the import graph between folders: adapters → engine → flows → domain →
// core → db. A folder may import its own layer or any lower one, never a higher one, and no set of folders may
// import each other round in a circle. A new folder must be given its layer here, which is the point.
const LAYERS: Record<string, number> = {
  db: 0,
  cards: 0,
  // Each jurisdiction's thresholds, periodic jobs and rules as plain data: read from core up, importing nothing.
  profiles: 0,
  "src/core": 1,
  "src/audit": 2,
  "src/calendar": 2,
  "src/directory": 2,
  "src/sms": 2,
  "src/access": 2,
  "src/resources": 2,
  "src/billing": 2,
  "src/metrics": 2,
  // Uploaded attachments: stored, checked, read by who may see their request (issue 12).
  "src/files": 2,
  // 004 第三十九条: the manager's security inspections of the provider.
  "src/security": 2,
  // 004 第二条: the register of 政务信息系统, with their 等保 and 密评 records.
  "src/systems": 2,
  // Fault and incident reports, maintenance notices (000 8.2, 8.4; 002 第二十五、三十条).
  "src/notices": 2,
  flows: 3,
  "src/engine": 4,
  "src/reports": 5,
  "src/chat": 5,
  "src/jobs": 6,
  "src/inbound": 6,
  "src/channels": 6,
  "src/http": 6,
  "src/web": 6,
  // Reading the environment into typed settings: what adapters and the entry points are configured by.
  "src/config": 6,
  "src/cli": 7,
  "src/server": 8,
  "src/worker": 8,
};

const root = resolve(import.meta.dirname, "..");
const SOURCE_ROOTS = ["db", "cards", "flows", "profiles", "src"];

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "migrations" ? [] : sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The folder a file belongs to: src/<area> for files under src/, the module itself for src's entry files. */
function folderOf(file: string): string {
  const parts = relative(root, file).split(sep);
  return parts[0] === "src" ? `src/${parts[1]!.replace(/\.tsx?$/, "")}` : parts[0]!;
}

function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of SOURCE_ROOTS.flatMap((r) => sourceFiles(join(root, r)))) {
    const from = folderOf(file);
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const ref of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!ref.fileName.startsWith(".")) continue;
      const to = folderOf(resolve(dirname(file), ref.fileName));
      if (to !== from && !edges.has(to)) edges.set(to, `${relative(root, file)} imports ${ref.fileName}`);
    }
  }
  return graph;
}

/** Strongly connected components of more than one folder (Tarjan). */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("the layering of design.md", () => {
  const graph = folderGraph();

  it("every folder has a layer", () => {
    expect([...graph.keys()].filter((f) => !(f in LAYERS))).toEqual([]);
  });

  it("no folder imports a folder of a higher layer", () => {
    const upward: string[] = [];
    for (const [from, edges] of graph)
      for (const [to, where] of edges) if ((LAYERS[to] ?? 99) > (LAYERS[from] ?? -1)) upward.push(`${from} → ${to}: ${where}`);
    expect(upward).toEqual([]);
  });

  it("no folders import each other round in a circle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("the check sees a cycle and an upward import when there is one", () => {
    const g = new Map([
      ["a", new Map([["b", "x"]])],
      ["b", new Map([["a", "y"]])],
    ]);
    expect(cycles(g)).toEqual([["a", "b"]]);
    expect(folderOf(join(root, "src/core/mutate.ts"))).toBe("src/core");
    expect(folderOf(join(root, "src/server.ts"))).toBe("src/server");
  });
});
