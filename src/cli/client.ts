import type { Config } from "../config";
import { invalid, isErrorCode, ServiceError } from "../core/errors";
import type { Flags, Options } from "./args";
import type { CliIo } from "./runtime";

// The running service's REST API, as the CLI calls it: `yunshen request …` always, and the commands that change
// data while the service holds the embedded database's directory (runtime.ts onDatabaseOrService).

/** `--token`, which every command that may call the service accepts. */
export const TOKEN_OPTION: Options = { token: { type: "string" } };

/**
 * One call of the API: its JSON answer, or the service's error (code, message and fields) thrown as it came.
 * `raw` is the same call for a body that is not JSON (a file streamed up) or an answer read as it arrives
 * (CSV, an export): the Response of a successful call, its body not yet read.
 */
export type ServiceCall = ((method: string, path: string, body?: unknown) => Promise<unknown>) & {
  raw: (method: string, path: string, body?: { stream: ReadableStream<Uint8Array>; contentType: string }) => Promise<Response>;
};

export const serviceUrl = (io: CliIo, config: Config) => (io.env.YUNSHEN_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/$/, "");

/**
 * A caller of the service at YUNSHEN_URL with the token of --token or YUNSHEN_TOKEN. `noToken` and
 * `unreachable` are what the command says when there is no token, or nothing answers at that address.
 */
export function serviceClient(
  io: CliIo,
  config: Config,
  flags: Flags,
  say: { noToken: string; unreachable: (base: string) => string } = {
    noToken: "请用 --token 或环境变量 YUNSHEN_TOKEN 提供访问令牌（yunshen token create --user ID）",
    unreachable: (base) => `无法连接服务 ${base}，请先 npm start 启动服务或设置 YUNSHEN_URL`,
  },
): ServiceCall {
  const base = serviceUrl(io, config);
  const send = async (method: string, path: string, body: { content: string | ReadableStream<Uint8Array>; contentType: string } | undefined) => {
    const token = flags.token ?? io.env.YUNSHEN_TOKEN;
    if (!token) throw invalid(say.noToken);
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": body.contentType }) },
        body: body?.content,
        // A stream goes up as it is read (Node's fetch needs this said), so a large file is never held in memory.
        ...(body?.content instanceof ReadableStream ? { duplex: "half" } : {}),
      });
    } catch {
      throw new ServiceError("unreachable", say.unreachable(base), 503);
    }
    if (res.ok) return res;
    const payload = (await res.json().catch(() => null)) as { error?: { code: string; message: string; fields?: Record<string, string[]> } } | null;
    const e = payload?.error;
    throw new ServiceError(isErrorCode(e?.code) ? e.code : "http_error", e?.message ?? `服务返回 ${res.status}`, 400, e?.fields);
  };
  const call = async (method: string, path: string, body?: unknown) =>
    (await send(method, path, body === undefined ? undefined : { content: JSON.stringify(body), contentType: "application/json" })).json().catch(() => null);
  return Object.assign(call, {
    raw: (method: string, path: string, body?: { stream: ReadableStream<Uint8Array>; contentType: string }) =>
      send(method, path, body && { content: body.stream, contentType: body.contentType }),
  });
}
