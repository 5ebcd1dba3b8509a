import { Hono } from "hono";
import { SHAOGUAN_SECURITY_PLEDGE } from "../../../../flows/application/documents";
import type { WebDeps, WebEnv } from "../session";

// The official documents an application carries, offered to read, print and sign: 002 第十九条 has a 韶关 unit
// "签署《韶关市“数字政府”政务云资源使用安全责任书》（附件2）" and attach it. The text is the seed's, served by the
// service itself (no CDN): as a page laid out for the browser's 打印, and as a plain-text file to edit or forward.

const P = SHAOGUAN_SECURITY_PLEDGE;

/** The 责任书 as plain text, one paragraph a line (CRLF, with a BOM, for Windows' Notepad), with its signature block. */
export function pledgeText(): string {
  const signatures = P.parties.flatMap((p) => [p.name, ...p.lines, ""]);
  return `\uFEFF${[P.title, "", ...P.paragraphs, "", ...signatures, P.note, ""].join("\r\n")}`;
}

function PledgePage() {
  return (
    <html lang="zh-CN">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${P.title} · 云审`}</title>
        <style>{`body{font-family:system-ui,"Songti SC","SimSun",serif;max-width:46em;margin:24px auto;padding:0 16px;line-height:1.8}
h1{font-size:20px;text-align:center}p{text-indent:2em;margin:.4em 0}.ys-sign{display:flex;gap:2em;margin-top:2em}
.ys-sign div{flex:1}.ys-sign p{text-indent:0}.ys-noprint{color:#555;font-size:14px;border:1px solid #ccc;padding:8px 12px;text-indent:0}
@media print{.ys-noprint{display:none}}`}</style>
      </head>
      <body>
        <p class="ys-noprint">
          {P.annex}（002 第十九条：申请时签署并随申请表提交）。请打印本页（浏览器“打印”，Ctrl+P），由本单位负责人签字、加盖公章后扫描，在云资源申请的“附件”中以材料类型“安全责任书”上传。
          <a href="/documents/shaoguan-security-pledge.txt" download>下载文本（.txt）</a> · <a href="/new/application">返回云资源申请</a>
        </p>
        <h1>{P.title}</h1>
        {P.paragraphs.map((text) => (
          <p>{text}</p>
        ))}
        <div class="ys-sign">
          {P.parties.map((party) => (
            <div>
              <p>{party.name}</p>
              {party.lines.map((line) => (
                <p>{line}</p>
              ))}
            </div>
          ))}
        </div>
        <p>{P.note}</p>
      </body>
    </html>
  );
}

/** /documents/shaoguan-security-pledge (to read and print) and its .txt. */
export function documentPages(_deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.get("/shaoguan-security-pledge", (c) => c.html(<PledgePage />));
  app.get("/shaoguan-security-pledge.txt", (c) =>
    c.body(pledgeText(), 200, {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `attachment; filename="security-pledge.txt"; filename*=UTF-8''${encodeURIComponent(`${P.title}.txt`)}`,
    }),
  );
  return app;
}
