import { webMount } from "../src/channels/web";
import type { WebSettings } from "../src/channels/web/session";
import { createLoginLink } from "../src/directory/login-links";
import { createTestApp } from "./app-harness";

type TestAppOptions = NonNullable<Parameters<typeof createTestApp>[0]>;

/** The response of a page as a browser sees it: status, the redirect's target, the HTML. */
export interface PageResponse {
  status: number;
  location: string | null;
  html: string;
  headers: Headers;
}

/** The CSRF token of a page's forms. */
export const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? null;

/** The createTestApp app with the web portal mounted at "/", and a browser-like agent per person. */
export async function createWebTestApp(opts: TestAppOptions & { web?: Partial<WebSettings> } = {}) {
  const { web, ...rest } = opts;
  const t = await createTestApp({ ...rest, channels: [...(rest.channels ?? []), webMount({ idleHours: 8, uploadMaxMb: 20, ...web })] });

  /** A one-time sign-in link's token for a user, as `yunshen login-link` issues it. */
  const linkFor = async (userId: string) => (await createLoginLink({ ctx: t.ctx(), input: { userId } })).token;

  /** A browser of its own: it keeps its cookie and sends the CSRF token of the last page it read with each POST. */
  function agent() {
    let cookie: string | null = null;
    let csrf: string | null = null;
    async function request(method: string, path: string, init: { form?: Record<string, string> | string; headers?: Record<string, string> } = {}): Promise<PageResponse> {
      const body = init.form === undefined ? undefined : typeof init.form === "string" ? init.form : new URLSearchParams(init.form).toString();
      const res = await t.app.request(path, {
        method,
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }),
          ...init.headers,
        },
        body,
      });
      const set = res.headers.get("set-cookie");
      if (set) {
        const [pair] = set.split(";");
        cookie = pair!.endsWith("=") ? null : pair!;
      }
      const html = await res.text();
      csrf = csrfIn(html) ?? csrf;
      return { status: res.status, location: res.headers.get("location"), html, headers: res.headers };
    }
    return {
      get: (path: string, headers?: Record<string, string>) => request("GET", path, { headers }),
      /** A POST of a form; `_csrf` is added from the last page read unless the form names its own or `csrf: false`. */
      post: (path: string, form: Record<string, string> = {}, opts: { csrf?: boolean; headers?: Record<string, string> } = {}) =>
        request("POST", path, { form: opts.csrf === false || "_csrf" in form ? form : { ...form, _csrf: csrf ?? "" }, headers: opts.headers }),
      raw: request,
      get cookie() {
        return cookie;
      },
      set cookie(value: string | null) {
        cookie = value;
      },
      get csrf() {
        return csrf;
      },
    };
  }

  /** An agent signed in as `userId` through a one-time link, having read the home page. */
  async function signedIn(userId: string) {
    const a = agent();
    const token = await linkFor(userId);
    const res = await a.post(`/login/${token}`, {}, { csrf: false });
    if (res.status !== 303) throw new Error(`sign-in of ${userId} failed: ${res.status} ${res.html.slice(0, 200)}`);
    await a.get("/");
    return a;
  }

  return { ...t, linkFor, agent, signedIn };
}

export type WebTestApp = Awaited<ReturnType<typeof createWebTestApp>>;
