import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { addHost } from "../src/access/hosts";
import { ERROR_CODES } from "../src/core/errors";
import { consoleGateway } from "../src/sms/gateways";
import { createTestApp, ok, type TestApp } from "./app-harness";

type Schema = { type?: string | string[]; enum?: unknown[]; example?: unknown; format?: string; pattern?: string; $ref?: string };
type Parameter = { name: string; in: "path" | "query" | "header"; required?: boolean; schema: Schema };
type Operation = {
  parameters?: Parameter[];
  requestBody?: { required?: boolean };
  security?: Record<string, unknown>[];
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};

let t: TestApp;
let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, any>; securitySchemes: Record<string, unknown> } };
let hostCredential: string;

// Values tried for a string parameter that has a pattern and no example: the first the pattern accepts is sent.
const CANDIDATES = ["2026-11", "2026-11-20", "vm-web-01", "YS-2026-00001", "1", "key-0001"];

/** A value the parameter's own schema accepts, found from the document alone. */
function sampleOf(p: Parameter): string {
  const s = p.schema;
  if (s.example !== undefined) return String(s.example);
  if (s.enum) return String(s.enum[0]);
  if (s.format === "date") return "2026-11-20";
  if (s.type === "integer" || s.type === "number") return "1";
  if (s.pattern) {
    const found = CANDIDATES.find((c) => new RegExp(s.pattern!).test(c));
    if (!found) throw new Error(`no sample for ${p.name} (${s.pattern})`);
    return found;
  }
  return "1";
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));

/** Calls an operation with the given parameters, authenticated as its security scheme asks; a body of {} when it takes one. */
async function call(path: string, method: string, op: Operation, params: Parameter[]) {
  let url = path;
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  for (const p of op.parameters ?? []) if (p.in === "path") url = url.replace(`{${p.name}}`, encodeURIComponent(sampleOf(p)));
  for (const p of params) {
    if (p.in === "query") query.set(p.name, sampleOf(p));
    if (p.in === "header") headers[p.name] = sampleOf(p);
  }
  const scheme = Object.keys(op.security?.[0] ?? {})[0];
  if (scheme === "hostCredential") headers.authorization = `Bearer ${hostCredential}`;
  const user = scheme === "bearer" ? "zhangwei" : null;
  const target = query.size > 0 ? `${url}?${query}` : url;
  return t.call(user, method, target, op.requestBody ? {} : undefined, headers);
}

beforeAll(async () => {
  t = await createTestApp({ access: { sms: consoleGateway({ log: () => {} }), codeKey: randomBytes(32), totpKey: randomBytes(32) } });
  hostCredential = (await addHost({ ctx: t.ctx(), input: { name: "bastion-1" } })).credential;
  doc = ok(await t.call(null, "GET", "/openapi.json"));
});
afterAll(() => t.close());

describe("/openapi.json is the routes' own contract", () => {
  test("every route the app serves under /api and /access is in the document, and nothing else", () => {
    const served = t.app.routes
      .filter((r) => r.method !== "ALL" && /^\/(api|access)\//.test(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/\/$/, "").replace(/:(\w+)/g, "{$1}")}`);
    const described = operations()
      .filter((o) => /^\/(api|access)\//.test(o.path))
      .map((o) => `${o.method.toLowerCase()} ${o.path}`);
    expect(served.length).toBeGreaterThan(25);
    expect([...new Set(served)].sort()).toEqual(described.sort());
  });

  test("omitting any required path-less parameter is a 400 naming it; the required ones alone are not a 400 about parameters", async () => {
    const checked: string[] = [];
    for (const { path, method, op } of operations()) {
      const params = (op.parameters ?? []).filter((p) => p.in !== "path");
      const required = params.filter((p) => p.required);
      for (const omitted of required) {
        const res = await call(path, method, op, required.filter((p) => p !== omitted));
        expect(res.status, `${method} ${path} without ${omitted.name}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(res.body.error.code).toBe("invalid_input");
        expect(Object.keys(res.body.error.fields ?? {}), `${method} ${path} without ${omitted.name}`).toContain(omitted.name);
        checked.push(`${method} ${path} -${omitted.name}`);
      }
      const res = await call(path, method, op, required);
      if (res.status === 400) {
        // Only the body may be what is missing (it is sent as {}): a parameter named here is one the document calls optional.
        expect(op.requestBody?.required, `${method} ${path} with its required parameters: ${JSON.stringify(res.body)}`).toBe(true);
        for (const p of params) expect(Object.keys(res.body.error.fields ?? {}), `${method} ${path}`).not.toContain(p.name);
      }
    }
    // The parameters the hand-written document got wrong are among those checked.
    expect(checked).toEqual(
      expect.arrayContaining([
        "GET /api/reports/monthly -month",
        "GET /api/metrics/vms/{vm} -from",
        "GET /api/metrics/vms/{vm} -to",
        "GET /api/metrics/vms/{vm}/scale-up -kind",
        "POST /api/metrics -idempotency-key",
      ]),
    );
  });

  test("parameters are validated after authentication, as before the contract was declared", async () => {
    const anonymous = await t.call(null, "GET", "/api/reports/monthly");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe("unauthenticated");
    const noHost = await t.call(null, "POST", "/access/challenge", "");
    expect(noHost.status).toBe(401);
  });

  test("every operation has a 2xx response with a schema, or one of another content type", () => {
    for (const { path, method, op } of operations()) {
      const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      expect(success.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const [status, response] of success) {
        const content = Object.entries(response.content ?? {});
        expect(content.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
        for (const [type, media] of content) if (type === "application/json") expect(media.schema, `${method} ${path} ${status}`).toBeDefined();
      }
    }
    const types = operations().flatMap(({ op }) => Object.values(op.responses).flatMap((r) => Object.keys(r.content ?? {})));
    expect(types).toEqual(expect.arrayContaining(["text/csv", "text/html"]));
  });

  test("the error codes in the document are exactly ERROR_CODES", () => {
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual([...ERROR_CODES]);
    expect(Object.keys(doc.components.securitySchemes)).toContain("bearer");
  });
});

describe("/docs", () => {
  test("the page and its assets come from the service itself, with no external address", async () => {
    const page = await t.app.request("/docs");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(expect.arrayContaining(["/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js"]));
    for (const asset of assets) {
      const res = await t.app.request(asset);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    const init = await (await t.app.request("/docs/assets/init.js")).text();
    expect(init).toContain('url: "/openapi.json"');
    expect(init).toContain("validatorUrl: null");
    expect((await t.app.request("/docs/assets/..%2Fpackage.json")).status).toBe(404);
  });
});
