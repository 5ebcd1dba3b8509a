import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Hono } from "hono";

// Government networks have no internet: the page and every asset it loads come from this service.
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const INIT = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
};
`;

const PAGE = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>云审 yunshen API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

/** GET /docs: a browsable reference of /openapi.json (Swagger UI), its assets served from swagger-ui-dist. */
export function docsRoutes() {
  const dir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const cache = new Map<string, Promise<Buffer>>();
  return new Hono()
    .get("/", (c) => c.html(PAGE))
    .get("/assets/init.js", (c) => c.body(INIT, 200, { "content-type": "text/javascript; charset=utf-8" }))
    .get("/assets/:name", async (c) => {
      const name = c.req.param("name");
      const type = ASSETS[name];
      if (!type) return c.notFound();
      let file = cache.get(name);
      if (!file) cache.set(name, (file = readFile(join(dir, name))));
      return c.body(new Uint8Array(await file), 200, { "content-type": type, "cache-control": "public, max-age=86400" });
    });
}
