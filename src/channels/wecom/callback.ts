import { createHash } from "node:crypto";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { and, eq, isNull, ne, or } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../../db/client";
import { wecomCards } from "../../../db/schema";
import type { WorkCalendar } from "../../core/calendar";
import { actOnCard } from "../../chat/card-clicks";
import { answerChat } from "../../chat/answer";
import type { Actor, Clock, ServiceContext } from "../../core/context";
import { userByWecomId } from "../../directory/queries";
import { describeInternalError, invalid, isDatabaseUnavailable, ServiceError, unprocessable } from "../../core/errors";
import { auditRefusal } from "../../core/mutate";
import { sourceIp } from "../../http/auth";
import { inputGuard } from "../../http/input-guard";
import type { RefusalRecorder } from "../../http/refusals";
import { textProblem } from "../../core/validation";
import { WecomCryptoError, type WecomCrypto } from "./crypto";
import { fitText, parseButtonKey } from "./render";
import { buildWecomXml, parseWecomXml, WecomXmlError, xmlText } from "./xml";

export interface WecomCallbackDeps {
  db: Db;
  clock: Clock;
  calendar: () => WorkCalendar;
  profile: ServiceContext["profile"];
  crypto: WecomCrypto;
  corpId: string;
  log: (line: string) => void;
  /** Called when a callback has queued messages, so the outbox need not wait for its next round. */
  onQueued?: () => void;
  /** How long a callback may take before WeCom gets an empty 200 instead of the answer (tests shorten it). */
  replyWithinMs?: number;
  /** Where refused callbacks are audited, at a bounded rate: before the signature is checked, anyone can send one. */
  refusals: RefusalRecorder;
}

// WeCom gives up after 5 s and retries; answer with a margin for the network.
const REPLY_WITHIN_MS = 4_000;

// WeCom's own callbacks are a few KB; anything near this is not from WeCom.
const MAX_CALLBACK_BYTES = 64 * 1024;

/** The query WeCom signs every callback with. */
export const signedQuery = z.object({
  msg_signature: z.string().regex(/^[0-9a-fA-F]{40}$/, "应为 40 位十六进制签名"),
  timestamp: z.string().regex(/^\d{1,12}$/, "应为数字时间戳"),
  nonce: z.string().min(1).max(64),
});
const verifyQuery = signedQuery.extend({ echostr: z.string().min(1).max(4096) });

// The decrypted message: only what we act on is read; everything else WeCom sends is ignored.
const inboundMessage = z.discriminatedUnion("MsgType", [
  z.object({
    MsgType: z.literal("text"),
    FromUserName: z.string().min(1).max(64),
    Content: z.string().max(4096),
    MsgId: z.string().regex(/^\d{1,20}$/),
  }),
  z.object({
    MsgType: z.literal("event"),
    FromUserName: z.string().min(1).max(64),
    Event: z.string(),
    EventKey: z.string().max(1024).optional(),
    TaskId: z.string().max(128).optional(),
    ResponseCode: z.string().max(512).optional(),
  }),
]);

const REFUSAL_STATUS: Record<number, { status: 400 | 403; code: string; message: string }> = {
  [-40001]: { status: 403, code: "signature_invalid", message: "签名校验失败" },
  [-40005]: { status: 403, code: "receiver_mismatch", message: "消息不是发给本企业（CorpID 不符）的" },
  [-40002]: { status: 400, code: "malformed_envelope", message: "回调报文不是有效的 XML" },
};

/**
 * GET|POST /wecom/callback: URL verification, card clicks and chat messages, encrypted as WeCom does it.
 * Every answer leaves within WeCom's 5-second window: decisions are a few statements, and whatever they
 * tell other people goes out through the outbox.
 */
export function wecomCallbackRoutes(deps: WecomCallbackDeps) {
  const app = new Hono();

  /** A callback we will not act on: a 4xx, nothing changed, and an audit entry saying so (rate-limited per source). */
  async function refuse(c: Context, status: 400 | 403 | 413, code: string, message: string, details: Record<string, unknown> = {}) {
    await deps.refusals.refused({ action: "wecom.callback", channel: "wecom", sourceIp: sourceIp(c), code, message, details });
    return c.json({ error: { code, message } }, status);
  }

  function refuseCrypto(c: Context, err: unknown) {
    if (err instanceof WecomCryptoError) {
      const known = REFUSAL_STATUS[err.code] ?? { status: 400 as const, code: "undecryptable", message: "回调报文无法解密" };
      return refuse(c, known.status, known.code, known.message, { wecomCode: err.code });
    }
    throw err;
  }

  app.use(
    bodyLimit({
      maxSize: MAX_CALLBACK_BYTES,
      onError: (c) => refuse(c, 413, "payload_too_large", `回调报文超过 ${MAX_CALLBACK_BYTES / 1024} KB`),
    }),
  );
  // Query and envelope: no NUL, control or bidi characters, before the signature check reads them.
  app.use(inputGuard({ body: "text" }));

  app.get("/", async (c) => {
    const query = verifyQuery.safeParse(c.req.query());
    if (!query.success) return refuse(c, 400, "invalid_query", "缺少或无效的 msg_signature、timestamp、nonce、echostr");
    try {
      // Exactly the decrypted echostr: no quotes, no newline.
      return c.text(deps.crypto.verifyUrl(query.data));
    } catch (err) {
      return refuseCrypto(c, err);
    }
  });

  app.post("/", async (c) => {
    const query = signedQuery.safeParse(c.req.query());
    if (!query.success) return refuse(c, 400, "invalid_query", "缺少或无效的 msg_signature、timestamp、nonce");
    let plain: string;
    try {
      plain = deps.crypto.openEnvelope(query.data, await c.req.text());
    } catch (err) {
      return refuseCrypto(c, err);
    }
    let doc;
    try {
      doc = parseWecomXml(plain);
    } catch (err) {
      if (err instanceof WecomXmlError) return refuse(c, 400, "malformed_message", "解密后的消息不是有效的 XML");
      throw err;
    }
    const flat = Object.fromEntries(Object.keys(doc).map((k) => [k, xmlText(doc, k)]));
    const parsed = inboundMessage.safeParse(flat);
    // Message kinds we do not handle (images, location, entering the app…): acknowledged, nothing to do.
    if (!parsed.success) return c.body(null, 200);
    // Every field we act on is text we may store or show: the rule of src/validation.ts, checked before anything
    // reads the directory. Bad text in a typed message is answered in the chat; anywhere else it is a 400 naming
    // the field. Either way nothing is written: the message is well-formed and signed, only its text is refused.
    const bad = Object.entries(parsed.data).flatMap(([field, value]) => {
      const problem = typeof value === "string" ? textProblem(value) : null;
      return problem ? [[field, problem] as const] : [];
    });
    if (bad.length > 0) {
      const [field, problem] = bad[0]!;
      if (parsed.data.MsgType === "text" && bad.length === 1 && field === "Content")
        return sealedText(c, parsed.data.FromUserName, `您发送的消息${problem}，未处理。`, query.data);
      throw invalid("消息中有不允许的字符", Object.fromEntries(bad.map(([f, p]) => [f, [p]])));
    }
    return withinWindow(c, answer(c, parsed.data, plain, query.data));
  });

  /**
   * WeCom waits 5 s and then retries. Whatever is still running at the edge of the window finishes on its
   * own (a decision commits, its updates go out through the outbox), and WeCom gets an empty 200 now.
   */
  async function withinWindow(c: Context, work: Promise<Response>): Promise<Response> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), deps.replyWithinMs ?? REPLY_WITHIN_MS);
    });
    const settled = work.catch((err) => {
      // A database outage is answered 503 (WeCom retries) and logged once by the app's error handler.
      if (!isDatabaseUnavailable(err)) deps.log(`企业微信回调处理失败：${describeInternalError(err)}`);
      throw err;
    });
    try {
      const first = await Promise.race([settled, late]);
      if (first) return first;
      settled.catch(() => {});
      deps.log("企业微信回调处理超过时限，已先回复空 200，处理在后台继续");
      return c.body(null, 200);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A passive reply: a text message to the sender, encrypted. */
  function sealedText(c: Context, toUser: string, content: string, query: z.output<typeof signedQuery>): Response {
    const xml = buildWecomXml({
      ToUserName: toUser,
      FromUserName: deps.corpId,
      CreateTime: Math.floor(deps.clock.now().getTime() / 1000),
      MsgType: "text",
      Content: fitText(content),
    });
    return c.body(deps.crypto.sealReply(xml, query.timestamp, query.nonce), 200, { "content-type": "application/xml" });
  }

  async function answer(
    c: Context,
    message: z.output<typeof inboundMessage>,
    plain: string,
    query: z.output<typeof signedQuery>,
  ): Promise<Response> {
    const user = await userByWecomId(deps.db, message.FromUserName);
    const actor: Actor | null = user ? { userId: user.id, name: user.name, unitId: user.unitId, roles: user.roles } : null;
    const ctx: ServiceContext = {
      db: deps.db,
      clock: deps.clock,
      calendar: deps.calendar(),
      profile: deps.profile,
      actor,
      channel: "wecom",
      sourceIp: sourceIp(c),
    };
    const reply = (content: string) => sealedText(c, message.FromUserName, content, query);

    if (message.MsgType === "text") {
      if (!actor) return reply("您还不在云审通讯录中，请联系管理员导入后再试");
      const answer = await answerChat({ ctx, input: { text: message.Content, messageKey: message.MsgId } });
      deps.onQueued?.();
      return reply(answer);
    }

    if (message.Event !== "template_card_event") return c.body(null, 200);
    // A retried callback is byte-for-byte the same message; two real clicks differ (each has its own
    // ResponseCode and CreateTime), so the plaintext's hash is the key.
    const key = createHash("sha256").update(plain).digest("hex");
    const clickCtx = { ...ctx, dedupe: { scope: "wecom", key, fingerprint: key } };
    try {
      const button = parseButtonKey(message.EventKey ?? "");
      if (!button) {
        const err = unprocessable("unknown_button", "无法识别的卡片按钮，请使用最新的卡片");
        await auditRefusal(clickCtx, { action: "card.click" }, err);
        throw err;
      }
      // Every click brings a fresh response code for that recipient's card: the one a later update must use.
      // A retried callback carries the same code and changes nothing.
      if (message.TaskId && message.ResponseCode)
        await deps.db
          .update(wecomCards)
          .set({ responseCode: message.ResponseCode, codeIssuedAt: deps.clock.now() })
          .where(
            and(
              eq(wecomCards.wecomTaskId, message.TaskId),
              isNull(wecomCards.settledAt),
              or(isNull(wecomCards.responseCode), ne(wecomCards.responseCode, message.ResponseCode)),
            ),
          );
      const outcome = await actOnCard({ ctx: clickCtx, input: button });
      deps.onQueued?.();
      if (outcome.kind === "asked") return reply(outcome.question);
      // Only the clicker's copy changes here; everyone else's is updated through the outbox.
      const xml = buildWecomXml({
        ToUserName: message.FromUserName,
        FromUserName: deps.corpId,
        CreateTime: Math.floor(deps.clock.now().getTime() / 1000),
        MsgType: "update_button",
        Button: { ReplaceName: outcome.buttonLabel },
      });
      return c.body(deps.crypto.sealReply(xml, query.timestamp, query.nonce), 200, { "content-type": "application/xml" });
    } catch (err) {
      if (err instanceof ServiceError) return reply(err.message);
      throw err;
    }
  }

  return app;
}
