import { Hono } from "hono";
import { getRequest, requestIdByCode } from "../../../engine";
import { notFound } from "../../../core/errors";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";

const CODE = /^YS-\d{4}-\d{5,}$/;

/** /requests/<code>: one request as its reader may see it; refused as not found otherwise. */
export function requestPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.get("/:code", async (c) => {
    const ctx = c.get("ctx");
    const code = c.req.param("code").toUpperCase();
    const id = CODE.test(code) ? await requestIdByCode(deps.db, code) : null;
    if (id === null) throw notFound(`申请 ${code} 不存在或您无权查看`);
    const r = await getRequest({ ctx, input: { id } });
    return c.html(
      <Page title={`${r.code} ${r.title}`} ctx={ctx} csrf={c.get("session").csrf}>
        <h1>{r.title}</h1>
        <p class="ys-muted">
          {r.code} · {r.unit.name} · {r.statusName}
        </p>
      </Page>,
    );
  });
  return app;
}
