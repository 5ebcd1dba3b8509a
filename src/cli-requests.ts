import { readFileSync } from "node:fs";
import type { CliIo } from "./cli";
import type { Config } from "./config";
import { STAGE_DECISIONS } from "./engine";
import { invalid, ServiceError } from "./core/errors";
import { parseJsonText } from "./core/validation";

const usage = (message: string) => new ServiceError("usage", message, 400);

// `yunshen request …` talks to the running service over its REST API, so it works the same on PGlite
// (whose data directory the service holds) and on PostgreSQL, and is subject to the same roles and audit.

const ACTION_FLAGS: Record<string, string> = {
  note: "note",
  reason: "reason",
  text: "text",
  "to-stage": "toStage",
  "to-user": "toUserId",
  kind: "kind",
  stage: "stage",
  score: "score",
  comment: "comment",
};


/** A JSON file named on the command line; `what` names it in messages ("申请表文件"). */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw invalid(`无法读取文件 ${path}`);
  }
  return parseJsonText(text, what);
}

async function call(io: CliIo, config: Config, flags: Record<string, string>, method: string, path: string, body?: unknown) {
  const base = (io.env.YUNSHEN_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/$/, "");
  const token = flags.token ?? io.env.YUNSHEN_TOKEN;
  if (!token) throw invalid("请用 --token 或环境变量 YUNSHEN_TOKEN 提供访问令牌（yunshen token create --user ID）");
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ServiceError("unreachable", `无法连接服务 ${base}，请先 npm start 启动服务或设置 YUNSHEN_URL`, 503);
  }
  const payload = (await res.json().catch(() => null)) as { error?: { code: string; message: string; fields?: Record<string, string[]> } } | null;
  if (!res.ok) {
    const e = payload?.error;
    throw new ServiceError(e?.code ?? "http_error", e?.message ?? `服务返回 ${res.status}`, 400, e?.fields);
  }
  return payload;
}

export async function requestCommand(config: Config, words: string[], flags: Record<string, string>, io: CliIo): Promise<number> {
  const [sub, id, action] = words;
  const print = (value: unknown) => io.out(`${JSON.stringify(value, null, 2)}\n`);
  switch (sub) {
    case "submit":
      if (!id) throw usage("request submit 需要申请表文件");
      print(await call(io, config, flags, "POST", "/api/requests", { form: readJsonFile(id, "申请表文件") }));
      return 0;
    case "list": {
      const query = new URLSearchParams();
      if (flags.view) query.set("view", flags.view);
      if (flags.status) query.set("status", flags.status);
      print(await call(io, config, flags, "GET", `/api/requests?${query}`));
      return 0;
    }
    case "show":
      if (!id) throw usage("request show 需要申请 id 或编号");
      print(await call(io, config, flags, "GET", `/api/requests/${encodeURIComponent(id)}`));
      return 0;
    case "act": {
      if (!id || !action) throw usage("request act 需要申请 id 和操作，如：request act YS-2026-00001 approve");
      const body: Record<string, unknown> = { action };
      for (const [flag, field] of Object.entries(ACTION_FLAGS)) if (flags[flag] !== undefined) body[field] = flags[flag];
      if (flags.days !== undefined) body.days = Number(flags.days);
      if (flags["stage-run"] !== undefined) body.stageRunId = Number(flags["stage-run"]);
      if (flags.form !== undefined) body.form = readJsonFile(flags.form, "申请表文件");
      // Without --stage, the decision is bound to the stage the request is at as read now: a command run twice
      // by mistake then finds that stage decided rather than deciding the next one too.
      if (STAGE_DECISIONS.has(action) && body.stage === undefined && body.stageRunId === undefined) {
        const shown = (await call(io, config, flags, "GET", `/api/requests/${encodeURIComponent(id)}`)) as { currentStage?: { stage?: string } | null };
        if (shown?.currentStage?.stage) body.stage = shown.currentStage.stage;
      }
      print(await call(io, config, flags, "POST", `/api/requests/${encodeURIComponent(id)}/actions`, body));
      return 0;
    }
    default:
      throw usage("request 支持 submit、list、show、act");
  }
}
