import type { ServerResponse } from "node:http";

/** JSON answers for the fakes of outside services, optionally late (to exercise client timeouts). */
export function jsonReplies() {
  let delayMs = 0;
  const pending = new Set<NodeJS.Timeout>();
  return {
    reply(res: ServerResponse, status: number, payload: unknown) {
      const respond = () => {
        if (res.destroyed) return;
        res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(payload));
      };
      if (delayMs <= 0) return respond();
      const timer = setTimeout(() => {
        pending.delete(timer);
        respond();
      }, delayMs);
      pending.add(timer);
    },
    /** Answer after ms from now on; 0 turns it off. */
    delay(ms: number) {
      delayMs = ms;
    },
    /** Drops answers still waiting (at close). */
    cancel() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
    },
  };
}
