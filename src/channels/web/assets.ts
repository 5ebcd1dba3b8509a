import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Hono } from "hono";

// Every asset the portal uses is served by the service itself: government networks reach no CDN. Read once at
// start; each link carries the content's hash, so a year's cache never serves an old file after an upgrade.
const require = createRequire(import.meta.url);
const ASSETS: Record<string, { body: string; version: string }> = Object.fromEntries(
  [
    ["weui.min.css", require.resolve("weui/dist/style/weui.min.css")],
    ["portal.css", new URL("./assets/portal.css", import.meta.url)],
    ["forms.css", new URL("./forms/assets/forms.css", import.meta.url)],
    ["forms.js", new URL("./forms/assets/forms.js", import.meta.url)],
    ["oversight.css", new URL("./assets/oversight.css", import.meta.url)],
  ].map(([name, path]) => {
    const body = readFileSync(path as string | URL, "utf8");
    return [name as string, { body, version: createHash("sha256").update(body).digest("hex").slice(0, 12) }];
  }),
);

/** The address of an asset, versioned by its content. */
export const assetHref = (name: keyof typeof ASSETS & string) => `/assets/${name}?v=${ASSETS[name]?.version ?? ""}`;

/** GET /assets/<name>: the stylesheets and the forms' script, with a year's cache. */
export function assetRoutes() {
  return new Hono().get("/:name", (c) => {
    const asset = ASSETS[c.req.param("name")];
    if (!asset) return c.notFound();
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("Content-Type", c.req.param("name").endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
    return c.body(asset.body);
  });
}
