import { Hono } from "hono";
import { downloadHeaders, readFile } from "../../../files";
import type { WebDeps, WebEnv } from "../session";

/**
 * GET /files/<id> — an attachment, for the signed-in person: the same rule as the API's download (the
 * uploader, or whoever may see the request it is attached to); anyone else gets the portal's 404 page.
 */
export function filePages(_deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.get("/:id", async (c) => {
    const file = await readFile({ ctx: c.get("ctx"), input: { id: c.req.param("id") } });
    return c.body(new Uint8Array(file.content), 200, downloadHeaders(file));
  });
  return app;
}
