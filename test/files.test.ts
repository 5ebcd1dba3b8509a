// Attachments are real files (issue 12): uploaded through POST /api/files (or the portal's form) as a purpose,
// checked by size, extension and first bytes, kept in the database within a quota of pending uploads,
// downloadable by exactly those who may see their request, bound to it on submission, deleted a day after
// an upload no request named.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { and, count, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, files } from "../db/schema";
import { consoleSender } from "../src/channels/console";
import { applicationForm, valuesFromInput } from "../src/channels/web/forms";
import { createApp } from "../src/http/app";
import { cleanFileName, PENDING_MAX_FILES } from "../src/files";
import { calendarStore, runJobsOnce } from "../src/jobs/runner";
import { createTestApp, ok, sampleForm, samplePdf, serveOnLoopback } from "./app-harness";
import { everyChannel } from "./harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

const MB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let t: WebTestApp;
beforeAll(async () => {
  t = await createWebTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** What a refusal must leave untouched: the stored files and the audit chain. */
async function written() {
  const [stored] = await t.db.select({ n: count() }).from(files);
  const [audited] = await t.db.select({ n: count() }).from(auditLog);
  return { files: stored!.n, audit: audited!.n };
}

async function download(user: string, id: string) {
  const res = await t.app.request(`/api/files/${id}`, { headers: { authorization: `Bearer ${t.tokens[user]}` } });
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** A PDF's header followed by `size` bytes in all. */
function pdfOfSize(size: number) {
  const bytes = new Uint8Array(size);
  bytes.set(new TextEncoder().encode("%PDF-1.4\n"));
  return bytes;
}

describe("upload and download", () => {
  test("a PDF goes up and comes back byte for byte, with its SHA-256, type, a Chinese name for saving and nosniff", async () => {
    const pdf = samplePdf();
    const up = ok(await t.upload("lihua", { name: "迁云上云实施方案.pdf", purpose: "plan", content: pdf }), 201);
    expect(up).toMatchObject({ name: "迁云上云实施方案.pdf", size: pdf.length, sha256: sha256(pdf), contentType: "application/pdf" });
    expect(up.id).toMatch(/^f_[A-Za-z0-9_-]{22}$/);
    const { res, bytes } = await download("lihua", up.id);
    expect(res.status).toBe(200);
    expect(Buffer.from(bytes).equals(Buffer.from(pdf))).toBe(true);
    expect(sha256(bytes)).toBe(up.sha256);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="________.pdf"; filename*=UTF-8''${encodeURIComponent("迁云上云实施方案.pdf")}`,
    );
  });

  test("the upload's audit entry carries the name, size, content type and SHA-256", async () => {
    const pdf = samplePdf();
    const up = ok(await t.upload("yangfan", { name: "说明.pdf", purpose: "storage_explanation", content: pdf }), 201);
    const [entry] = await t.db.select().from(auditLog).where(sql`${auditLog.action} = 'file.upload' and ${auditLog.details}->>'fileId' = ${up.id}`);
    expect(entry!.actorId).toBe("yangfan");
    expect(entry!.details).toMatchObject({ name: "说明.pdf", size: pdf.length, contentType: "application/pdf", sha256: sha256(pdf), purpose: "storage_explanation" });
  });

  test("Word, Excel, ZIP, JPEG and PNG pass when their first bytes match their extension", async () => {
    const ole2 = Uint8Array.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]);
    const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0]);
    const cases: [string, Uint8Array, string][] = [
      ["a.doc", ole2, "application/msword"],
      ["a.xls", ole2, "application/vnd.ms-excel"],
      ["a.docx", zip, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
      ["a.XLSX", zip, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
      ["a.zip", zip, "application/zip"],
      ["a.jpg", Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]), "image/jpeg"],
      ["a.png", Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), "image/png"],
    ];
    for (const [name, content, type] of cases) expect(ok(await t.upload("lihua", { name, content }), 201).contentType, name).toBe(type);
  });
});

describe("refused uploads write nothing", () => {
  test("20 MB + 1 byte is refused: 文件超过 20 MB 上限; exactly 20 MB is taken", async () => {
    const before = await written();
    const over = await t.upload("lihua", { name: "大文件.pdf", content: pdfOfSize(20 * MB + 1) });
    expect(over.status).toBe(413);
    expect(over.body.error).toMatchObject({ code: "payload_too_large", message: "文件超过 20 MB 上限" });
    expect(await written()).toEqual(before);
    ok(await t.upload("lihua", { name: "刚好.pdf", content: pdfOfSize(20 * MB) }), 201);
  }, 120_000);

  test("an oversize body on a real socket is refused without reading it all: declared too large, or streamed past the limit", async () => {
    const server = await serveOnLoopback(t.app.fetch);
    /** POSTs to /api/files, `send` writing the body; the answer, whatever the client was still sending. */
    const post = (headers: Record<string, string>, send: (req: ReturnType<typeof httpRequest>) => void) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        let answered = false;
        const req = httpRequest(`${server.base}/api/files`, {
          method: "POST",
          headers: { authorization: `Bearer ${t.tokens.lihua}`, "content-type": "multipart/form-data; boundary=x", ...headers },
        });
        req.on("response", (res) => {
          answered = true;
          let body = "";
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => {
            req.destroy();
            resolve({ status: res.statusCode!, body });
          });
        });
        // Once answered, the server may close the socket under a client still writing.
        req.on("error", (err) => (answered ? undefined : reject(err)));
        send(req);
      });
    try {
      const before = await written();
      // Headers only: the 413 must come without the 30 MB the client says it will send.
      const declared = await post({ "content-length": String(30 * MB) }, (req) => req.write("--x\r\n"));
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.body).error.message).toBe("文件超过 20 MB 上限");
      // Chunked, no length given: read up to the limit, then refused.
      const chunk = Buffer.alloc(256 * 1024, 0x41);
      const streamed = await post({}, (req) => {
        let sent = 0;
        const more = () => {
          while (sent < 30 * MB) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once("drain", more);
          }
          req.end();
        };
        more();
      });
      expect(streamed.status).toBe(413);
      expect(JSON.parse(streamed.body).error.message).toBe("文件超过 20 MB 上限");
      expect(await written()).toEqual(before);
    } finally {
      await server.close();
    }
  });

  test("an .exe is refused by name, and an .exe renamed .pdf by its first bytes", async () => {
    const before = await written();
    const exe = Uint8Array.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00]);
    const named = await t.upload("lihua", { name: "setup.exe", content: exe });
    expect(named.status).toBe(400);
    expect(named.body.error).toMatchObject({ code: "file_type_not_allowed", message: "不支持的文件类型：.exe，仅支持 pdf、doc、docx、xls、xlsx、jpg、png、zip" });
    const disguised = await t.upload("lihua", { name: "方案.pdf", content: exe });
    expect(disguised.status).toBe(400);
    expect(disguised.body.error).toMatchObject({ code: "file_type_not_allowed", message: "文件内容与扩展名不符：「方案.pdf」不是 PDF 文件" });
    // A .docx must be a ZIP container, not an OLE2 file nor a PDF.
    expect((await t.upload("lihua", { name: "a.docx", content: samplePdf() })).status).toBe(400);
    expect((await t.upload("lihua", { name: "无扩展名", content: samplePdf() })).status).toBe(400);
    expect((await t.upload("lihua", { name: "空.pdf", content: new Uint8Array(0) })).body.error.message).toBe("文件为空，请重新选择文件");
    expect(await written()).toEqual(before);
  });

  test("a name with path parts, NUL and bidi controls is kept cleaned; one with nothing left is refused", async () => {
    const up = ok(await t.upload("lihua", { name: "..\\..\\windows\\系统\u202E\u0000方案.pdf" }), 201);
    expect(up.name).toBe("系统方案.pdf");
    expect(ok(await t.upload("lihua", { name: "../../etc/../plan.pdf" }), 201).name).toBe("plan.pdf");
    expect(cleanFileName("/tmp/\u2066..\u2069.pdf")).toBe("pdf");
    expect(cleanFileName(`${"长".repeat(300)}.pdf`)).toBe(`${"长".repeat(196)}.pdf`);
    const before = await written();
    expect((await t.upload("lihua", { name: "../\u202E" })).status).toBe(400);
    expect(await written()).toEqual(before);
  });

  test("the text fields of a multipart body are checked like any text; other media types and fields are refused in Chinese", async () => {
    const before = await written();
    const bidi = await t.upload("lihua", { purpose: "plan\u202E" });
    expect(bidi.status).toBe(400);
    expect(bidi.body.error.fields.purpose[0]).toContain("双向文本控制字符");
    expect((await t.upload("lihua", { purpose: "poster" })).body.error.fields.purpose).toBeDefined();
    expect((await t.upload("lihua", { purpose: "" })).body.error.fields.purpose).toBeDefined();
    const json = await t.call("lihua", "POST", "/api/files", { file: "x" });
    expect(json.status).toBe(400);
    expect(json.body.error.message).toContain("multipart/form-data");
    const noFile = new FormData();
    noFile.set("purpose", "plan");
    const res = await t.app.request("/api/files", { method: "POST", headers: { authorization: `Bearer ${t.tokens.lihua}` }, body: noFile });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.fields.file[0]).toContain("请选择");
    const garbled = await t.call("lihua", "POST", "/api/files", "--x\r\nnot a part", { "content-type": "multipart/form-data; boundary=y" });
    expect(garbled.status).toBe(400);
    expect(garbled.body.error.message).toContain("不是有效的 multipart/form-data");
    expect((await t.upload(null)).status).toBe(401);
    expect(await written()).toEqual(before);
  });
});

describe("who may download", () => {
  test("before submission only the uploader; after, exactly those who see the request (county bureau, manager, approvers)", async () => {
    const plan = await t.attachment("lihua", "plan", "实施方案.pdf");
    for (const user of ["huangmin", "zhangwei", "wangfang"]) expect((await download(user, plan.fileId)).res.status, user).toBe(404);
    const form = sampleForm();
    form.attachments.push(plan);
    const { id } = ok(await t.submit("lihua", form), 201);
    // 梅县区教育局's request: its county bureau, the city's manager, provider and reviewer see it.
    for (const user of ["lihua", "huangmin", "zhangwei", "xufeng", "guojun"]) {
      const { res, bytes } = await download(user, plan.fileId);
      expect(res.status, user).toBe(200);
      expect(sha256(bytes)).toBe(sha256(samplePdf()));
    }
    // Another unit's applicant, even in the same county, and another county's bureau are told it is not there.
    for (const user of ["wangfang", "hexin", "zhongli"]) {
      const { res, bytes } = await download(user, plan.fileId);
      expect(res.status, user).toBe(404);
      expect(JSON.parse(new TextDecoder().decode(bytes)).error.message).toBe("文件不存在或您无权查看");
    }
    const shown = ok(await t.show("huangmin", id));
    expect(shown.form.attachments).toEqual([
      { purpose: "plan", fileId: plan.fileId, name: "实施方案.pdf", size: samplePdf().length, sha256: sha256(samplePdf()), contentType: "application/pdf" },
    ]);
    expect((await download("lihua", "f_AAAAAAAAAAAAAAAAAAAAAA")).res.status).toBe(404);
    expect((await download("lihua", "../etc/passwd")).res.status).toBe(404);
  });
});

describe("attachments of a submission", () => {
  test("004 第十二条(二)2 / 巴中 003 第十五条: a migration without an uploaded plan is refused; a name and digest alone no longer do", async () => {
    const bz = await createTestApp({ profile: "bazhong" });
    try {
      const missing = await bz.submit("yangfan", sampleForm());
      expect(missing.status).toBe(422);
      expect(missing.body.error.code).toBe("attachments_missing");
      expect(missing.body.error.fields["form.attachments"][0]).toContain("系统迁移方案");
      // A file uploaded as something else is not the plan, whatever the form calls it, nor under its own purpose.
      const other = ok(await bz.upload("yangfan", { name: "迁移方案.pdf", purpose: "other" }), 201);
      const relabelled = sampleForm();
      relabelled.attachments.push({ purpose: "plan", fileId: other.id });
      const mislabelled = await bz.submit("yangfan", relabelled);
      expect(mislabelled.status).toBe(422);
      expect(mislabelled.body.error.code).toBe("file_purpose_mismatch");
      expect(mislabelled.body.error.fields["form.attachments[0].fileId"]).toEqual([
        "「迁移方案.pdf」上传时的材料类型为「其他」，不能作为「迁云上云实施方案」提交；请改回原材料类型，或以「迁云上云实施方案」重新上传",
      ]);
      const asOther = sampleForm();
      asOther.attachments.push({ purpose: "other", fileId: other.id });
      expect((await bz.submit("yangfan", asOther)).body.error.code).toBe("attachments_missing");
      const described = sampleForm();
      described.attachments.push({ name: "迁移方案.pdf", sha256: "ab".repeat(32), purpose: "plan" });
      const refused = await bz.submit("yangfan", described);
      expect(refused.status).toBe(400);
      expect(refused.body.error.fields["form.attachments[0].fileId"][0]).toContain("请先上传文件");
      const form = sampleForm();
      form.attachments.push(await bz.attachment("yangfan", "plan"));
      ok(await bz.submit("yangfan", form), 201);
    } finally {
      await bz.close();
    }
  });

  test("a file of another unit, an unknown id, or one already attached to another request is refused, and nothing is written", async () => {
    const theirs = await t.attachment("wangfang", "plan");
    const foreign = sampleForm();
    foreign.attachments.push(theirs);
    const before = await written();
    const refused = await t.submit("lihua", foreign);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe("unknown_file");
    expect(refused.body.error.fields["form.attachments[0].fileId"][0]).toContain("不是本单位上传的");
    const unknown = sampleForm();
    unknown.attachments.push({ purpose: "plan", fileId: "f_AAAAAAAAAAAAAAAAAAAAAA" });
    expect((await t.submit("lihua", unknown)).body.error.code).toBe("unknown_file");

    const mine = await t.attachment("lihua", "plan");
    const first = sampleForm();
    first.attachments.push(mine);
    ok(await t.submit("lihua", first), 201);
    const afterFirst = await written();
    const again = await t.submit("lihua", first);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("file_attached_elsewhere");
    expect(again.body.error.fields["form.attachments[0].fileId"][0]).toContain("已附在另一份申请上");
    const [file] = await t.db.select({ requestId: files.requestId }).from(files).where(eq(files.id, mine.fileId));
    expect(file!.requestId).not.toBeNull();
    // A refused submission is audited as a refusal (as every well-formed refused action is), but stores nothing.
    const afterAgain = await written();
    expect(afterAgain.files).toBe(afterFirst.files);
    expect(before.files).toBe(afterFirst.files - 1);
  });

  test("two submissions naming one file at the same moment: one takes it, the other is refused", async () => {
    const plan = await t.attachment("lihua", "plan");
    const form = sampleForm();
    form.attachments.push(plan);
    const answers = await Promise.all([t.submit("lihua", form), t.submit("lihua", form)]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const [file] = await t.db.select({ requestId: files.requestId }).from(files).where(eq(files.id, plan.fileId));
    expect(file!.requestId).toBe(answers.find((a) => a.status === 201)!.body.id);
  });

  test("the submission binds the files in its transaction and its audit entry records each SHA-256; a resubmission keeps them", async () => {
    const plan = await t.attachment("lihua", "plan", "方案v1.pdf");
    const form = sampleForm();
    form.attachments.push(plan);
    const { id } = ok(await t.submit("lihua", form), 201);
    const [bound] = await t.db.select({ requestId: files.requestId }).from(files).where(eq(files.id, plan.fileId));
    expect(bound!.requestId).toBe(id);
    const [entry] = await t.db.select().from(auditLog).where(sql`${auditLog.action} = 'request.submit' and ${auditLog.requestId} = ${id}`);
    expect(entry!.details).toMatchObject({ attachments: [{ purpose: "plan", fileId: plan.fileId, name: "方案v1.pdf", sha256: sha256(samplePdf()) }] });

    // 退回 by the county bureau; the form read back from the request is sent again, its file still its own.
    ok(await t.act("huangmin", id, { action: "return", reason: "请补充切换时间" }));
    const shown = ok(await t.show("lihua", id));
    const edited = { ...shown.form, plan: { ...shown.form.plan, steps: "12 月第 2 周切换" } };
    ok(await t.act("lihua", id, { action: "resubmit", form: edited }));
    const [resubmitted] = await t.db.select().from(auditLog).where(sql`${auditLog.action} = 'request.resubmit' and ${auditLog.requestId} = ${id}`);
    expect(resubmitted!.details).toMatchObject({ attachments: [{ fileId: plan.fileId, sha256: sha256(samplePdf()) }] });
    // A second return, resubmitted as it stands, with a second file added.
    ok(await t.act("huangmin", id, { action: "return", reason: "请附安全责任书" }));
    const pledge = await t.attachment("lihua", "security_pledge");
    const withPledge = ok(await t.show("lihua", id)).form;
    withPledge.attachments.push(pledge);
    ok(await t.act("lihua", id, { action: "resubmit", form: withPledge }));
    const [second] = await t.db.select({ requestId: files.requestId }).from(files).where(eq(files.id, pledge.fileId));
    expect(second!.requestId).toBe(id);
    expect((await download("huangmin", pledge.fileId)).res.status).toBe(200);
  });
});

describe("an upload's purpose", () => {
  test("kept with the file; one file cannot stand for two documents; a file kept before purposes were is taken as declared", async () => {
    const pledge = await t.attachment("lihua", "security_pledge", "安全责任书.pdf");
    const [row] = await t.db.select({ purpose: files.purpose }).from(files).where(eq(files.id, pledge.fileId));
    expect(row!.purpose).toBe("security_pledge");
    const twice = sampleForm();
    twice.attachments.push(pledge, { purpose: "plan", fileId: pledge.fileId });
    const before = await written();
    const refused = await t.submit("lihua", twice);
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toBe("附件的材料类型与上传时选择的不一致，请按上传时的材料类型填写，或重新上传");
    expect(Object.keys(refused.body.error.fields)).toEqual(["form.attachments[1].fileId"]);
    expect((await written()).files).toBe(before.files);
    const [unbound] = await t.db.select({ requestId: files.requestId }).from(files).where(eq(files.id, pledge.fileId));
    expect(unbound!.requestId).toBeNull();
    // Migration 0018 leaves null what neither a request nor the upload's audit entry says: the form's word stands.
    await t.db.update(files).set({ purpose: null }).where(eq(files.id, pledge.fileId));
    const legacy = sampleForm();
    legacy.attachments.push({ purpose: "plan", fileId: pledge.fileId });
    ok(await t.submit("lihua", legacy), 201);
  });

  test("the portal stores a row's file as the row's 材料类型, refuses one without it, and names a changed type on the row", async () => {
    const a = await t.signedIn("lihua");
    const post = async (fields: Record<string, string>, file?: File) => {
      const body = new FormData();
      for (const [k, v] of Object.entries({ ...fields, _csrf: a.csrf ?? "" })) body.append(k, v);
      if (file) body.append("attachments[0].fileId", file);
      const res = await t.app.request("/new/application", { method: "POST", headers: { cookie: a.cookie ?? "" }, body });
      return { status: res.status, html: await res.text() };
    };
    const pdf = () => new File([samplePdf()], "存储需求说明.pdf");
    const before = await written();
    const untyped = await post({ "attachments[0].purpose": "" }, pdf());
    expect(untyped.status).toBe(400);
    expect(untyped.html).toContain("请先选择材料类型，再选择文件");
    expect(await post({ "attachments[0].purpose": "poster" }, pdf())).toMatchObject({ status: 400 });
    expect(await written()).toEqual(before);

    const typed = await post({ "attachments[0].purpose": "storage_explanation", _step: "preview" }, pdf());
    const id = /name="attachments\[0\]\.fileId" value="(f_[^"]+)"/.exec(typed.html)?.[1];
    expect(id).toBeDefined();
    const [row] = await t.db.select({ purpose: files.purpose, uploadedBy: files.uploadedBy }).from(files).where(eq(files.id, id!));
    expect(row).toEqual({ purpose: "storage_explanation", uploadedBy: "lihua" });

    // The row's type changed to 迁云上云实施方案 after the upload, the same file kept: 提交 is refused on that row.
    const { attachments: _, ...form } = sampleForm();
    const values = valuesFromInput(applicationForm, form);
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(values.fields)) if (v !== "") fields[k] = String(v);
    values.rows.vms!.forEach((vm, i) => Object.entries(vm).forEach(([k, v]) => v !== "" && (fields[`vms[${i}].${k}`] = v)));
    const changed = await post({ ...fields, "attachments[0].purpose": "plan", "attachments[0].fileId": id!, _step: "submit" });
    expect(changed.status).toBe(422);
    expect(changed.html).toContain("「存储需求说明.pdf」上传时的材料类型为「存储需求书面说明」，不能作为「迁云上云实施方案」提交");
    const [still] = await t.db.select({ requestId: files.requestId }).from(files).where(eq(files.id, id!));
    expect(still!.requestId).toBeNull();
  });


  test("migration 0018 fills in the purpose of files kept before: from the request naming it, else from the upload's audit entry", async () => {
    const named = await t.attachment("lihua", "evaluation", "评估.pdf");
    const form = sampleForm();
    form.attachments.push({ purpose: "plan", fileId: named.fileId });
    await t.db.update(files).set({ purpose: null }).where(eq(files.id, named.fileId));
    ok(await t.submit("lihua", form), 201);
    const waiting = await t.attachment("lihua", "test_report");
    // Kept with no upload entry to say what it was for.
    const pdf = samplePdf();
    const unsaid = { id: "f_0018-unsaid-no-audit__", name: "旧.pdf", size: pdf.length, sha256: sha256(pdf), contentType: "application/pdf" };
    await t.db.insert(files).values({ ...unsaid, content: Buffer.from(pdf), uploadedBy: "lihua", unitId: "mx-jyj", uploadedAt: t.clock.now() });
    await t.db.update(files).set({ purpose: null }).where(inArray(files.id, [named.fileId, waiting.fileId, unsaid.id]));
    const migration = readFileSync(new URL("../db/migrations/0018_files_purpose.sql", import.meta.url), "utf8");
    for (const statement of migration.split("--> statement-breakpoint").filter((part) => /^\s*(--.*\n)*\s*UPDATE/.test(part))) await t.db.execute(sql.raw(statement));
    const purposes = await t.db.select({ id: files.id, purpose: files.purpose }).from(files).where(inArray(files.id, [named.fileId, waiting.fileId, unsaid.id]));
    expect(Object.fromEntries(purposes.map((f) => [f.id, f.purpose]))).toEqual({ [named.fileId]: "plan", [waiting.fileId]: "test_report", [unsaid.id]: null });
  });
});

describe("a quota of files no request names yet", () => {
  /** POST /api/files on an app with UPLOAD_MAX_MB=1 over the same database: a quota of 10 MB pending. */
  const small = () => createApp({ db: t.db, clock: t.clock, calendar: () => t.ctx().calendar, profile: "meizhou", log: () => {}, uploadMaxMb: 1 });
  async function uploadTo(app: ReturnType<typeof small>, user: string, size: number) {
    const form = new FormData();
    form.set("file", new File([pdfOfSize(size)], "扫描件.pdf"));
    form.set("purpose", "other");
    const res = await app.request("/api/files", { method: "POST", headers: { authorization: `Bearer ${t.tokens[user]}` }, body: form });
    return { status: res.status, body: (await res.json()) as any };
  }

  test("ten files of the largest size pending, then refused in Chinese and nothing written; two at the edge at once: one passes", async () => {
    const app = small();
    for (let i = 0; i < 9; i++) ok(await uploadTo(app, "guojun", MB), 201);
    const edge = await Promise.all([uploadTo(app, "guojun", MB), uploadTo(app, "guojun", MB)]);
    expect(edge.map((r) => r.status).sort()).toEqual([201, 409]);
    const before = await written();
    const over = await uploadTo(app, "guojun", 1024);
    expect(over.status).toBe(409);
    expect(over.body.error).toEqual({
      code: "upload_quota_exceeded",
      message: "您尚未提交的附件已有 10.0 MB，加上此文件将超过 10 MB 上限。未提交的附件保留 24 小时：请先提交使用这些附件的申请，或等待其自动删除后再上传",
    });
    // The refusal is evidence (as every refused well-formed action is): audited, with nothing stored.
    expect(await written()).toEqual({ files: before.files, audit: before.audit + 1 });
    const [refusal] = await t.db.select().from(auditLog).orderBy(sql`${auditLog.seq} desc`).limit(1);
    expect(refusal).toMatchObject({ action: "file.upload", outcome: "refused", actorId: "guojun", details: { code: "upload_quota_exceeded" } });
    // Another person's quota is their own.
    ok(await uploadTo(app, "xufeng", 1024), 201);
  }, 60_000);

  test(`${PENDING_MAX_FILES} small files pending, then the next is refused`, async () => {
    for (let i = 0; i < PENDING_MAX_FILES; i++) ok(await t.upload("linna", { name: `${i}.pdf`, purpose: "other" }), 201);
    const over = await t.upload("linna", { purpose: "other" });
    expect(over.status).toBe(409);
    expect(over.body.error.message).toMatch(/^您已上传 50 个尚未提交的附件，最多 50 个。/);
  }, 60_000);
});

describe("signed out: refused before the body is read", () => {
  /** A body of `chunks` × 64 KB handed over only when read: how many chunks were taken tells what was read. */
  function observedBody(chunks: number) {
    let taken = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (taken === chunks) return controller.close();
          taken++;
          controller.enqueue(new Uint8Array(64 * 1024).fill(0x41));
        },
      },
      { highWaterMark: 0 },
    );
    return { stream, taken: () => taken };
  }
  const send = (path: string, headers: Record<string, string>, body: ReadableStream<Uint8Array>) =>
    t.app.request(path, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x", ...headers }, body, duplex: "half" } as RequestInit);

  test("POST /api/files without a valid token: 401 with nothing of the body read; with one, the body is read", async () => {
    for (const authorization of [undefined, "Bearer ys_not-a-token"]) {
      const body = observedBody(400);
      const res = await send("/api/files", authorization ? { authorization } : {}, body.stream);
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.code).toBe("unauthenticated");
      expect(body.taken()).toBe(0);
    }
    const read = observedBody(4);
    expect((await send("/api/files", { authorization: `Bearer ${t.tokens.lihua}` }, read.stream)).status).toBe(400);
    expect(read.taken()).toBe(4);
  });

  test("the portal's multipart POST without a session goes to /login unread; with one, it is read", async () => {
    const body = observedBody(400);
    const res = await send("/new/application", {}, body.stream);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/login/);
    expect(body.taken()).toBe(0);
    const a = await t.signedIn("lihua");
    const read = observedBody(4);
    expect((await send("/new/application", { cookie: a.cookie ?? "" }, read.stream)).status).toBe(400);
    expect(read.taken()).toBe(4);
  });

  test("on a real socket: a chunked upload without a token is answered 401 though its body never comes", async () => {
    const server = await serveOnLoopback(t.app.fetch);
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${server.base}/api/files`, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x", "transfer-encoding": "chunked" } });
        req.on("response", (res) => {
          let text = "";
          res.on("data", (chunk) => (text += chunk));
          res.on("end", () => {
            req.destroy();
            resolve({ status: res.statusCode!, body: text });
          });
        });
        req.on("error", reject);
        req.setTimeout(10_000, () => reject(new Error("no answer while the body was held back")));
        req.flushHeaders();
      });
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).error.code).toBe("unauthenticated");
    } finally {
      await server.close();
    }
  });
});

describe("files no request names are deleted a day after their upload", () => {
  test("by the job round with the clock moved: audited with the SHA-256, a bound file and a younger one kept, the quota freed", async () => {
    const start = t.clock.now().getTime();
    const at = (hours: number, seconds = 0) => t.clock.set(new Date(start + hours * 3_600_000 + seconds * 1000).toISOString());
    const bound = await t.attachment("lihua", "plan", "已提交.pdf");
    const form = sampleForm();
    form.attachments.push(bound);
    ok(await t.submit("lihua", form), 201);
    const given = ok(await t.upload("lihua", { name: "放弃.pdf", purpose: "evaluation" }), 201);
    at(20);
    const young = ok(await t.upload("lihua", { name: "新.pdf", purpose: "evaluation" }), 201);
    const lines: string[] = [];
    const deps = { db: t.db, clock: t.clock, calendars: await calendarStore(t.db), profile: "meizhou" as const, senders: everyChannel(consoleSender(() => {})), log: (l: string) => lines.push(l) };
    const kept = async (id: string) => (await t.db.select({ id: files.id }).from(files).where(eq(files.id, id))).length === 1;

    at(24, -1);
    await runJobsOnce(deps);
    expect(await kept(given.id)).toBe(true);
    at(24, 1);
    await runJobsOnce(deps);
    expect(lines.filter((l) => l.includes("附件"))).toEqual([]);
    expect(await kept(given.id)).toBe(false);
    expect(await kept(young.id)).toBe(true);
    expect(await kept(bound.fileId)).toBe(true);
    expect((await download("lihua", given.id)).res.status).toBe(404);
    const expired = await t.db.select().from(auditLog).where(eq(auditLog.action, "file.expire"));
    const entry = expired.find((e) => e.details.fileId === given.id);
    expect(entry).toMatchObject({ actorId: null, channel: "timer" });
    expect(entry!.details).toMatchObject({ name: "放弃.pdf", sha256: sha256(samplePdf()), purpose: "evaluation", uploadedBy: "lihua", hours: 24 });
    expect(expired.map((e) => e.details.fileId)).not.toContain(young.id);
    const [left] = await t.db.select({ n: count() }).from(files).where(and(isNull(files.requestId), lt(files.uploadedAt, new Date(start))));
    expect(left!.n).toBe(0);
    // linna's 50 pending files are gone with the rest: she may upload again.
    ok(await t.upload("linna", { purpose: "other" }), 201);
  }, 60_000);
});

test("/openapi.json documents the upload as multipart/form-data and the download as a binary body", async () => {
  const doc = ok(await t.call(null, "GET", "/openapi.json"));
  const upload = doc.paths["/api/files"].post;
  expect(Object.keys(upload.requestBody.content)).toEqual(["multipart/form-data"]);
  expect(upload.requestBody.content["multipart/form-data"].schema.properties.file).toMatchObject({ type: "string", format: "binary" });
  expect(upload.responses["201"].content["application/json"].schema.$ref).toBe("#/components/schemas/StoredFile");
  expect(doc.paths["/api/files/{id}"].get.responses["200"].content["application/octet-stream"]).toBeDefined();
});
