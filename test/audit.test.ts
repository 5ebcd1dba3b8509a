import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/client";
import { auditLog } from "../db/schema";
import { auditEntryHash } from "../src/core/audit-append";
import { canonicalJson, sha256Hex } from "../src/core/audit-canonical";
import { auditAppend, exportAudit, verifyAuditChain, type AuditInput } from "../src/audit/index";
import { ephemeralAuditSigner, verifyAuditSignature } from "../src/core/audit-signing";
import { createTestDatabase, testAuditSigner } from "./harness";

const FIELDS = [
  "seq",
  "at",
  "actorId",
  "actorRole",
  "action",
  "requestId",
  "stage",
  "outcome",
  "channel",
  "sourceIp",
  "details",
  "prevHash",
  "hash",
  "sig",
];

/** An intact log of `count` entries, all signed, checked without a public key or anchors unless `more` says so. */
const intact = (count: number, more: Record<string, unknown> = {}) => ({
  ok: true,
  count,
  signed: count,
  unsignedBefore: 0,
  signaturesChecked: false,
  anchors: 0,
  lastAnchor: null,
  ...more,
});

/** A log found wrong at one place only. */
const broken = (count: number, seq: number, reason: string) => ({ ok: false, count, firstBad: { seq, reason }, findings: [{ seq, reason }] });

const T0 = Date.UTC(2025, 2, 3, 1, 0, 0);

const TRICKY_DETAILS = { note: '含逗号,和"引号"\n以及换行的说明', 单位: "广州市天河区政务服务数据管理局" };
// JSON escapes the line break inside details, so a plain text cell carries a raw one through the CSV.
const TRICKY_STAGE = '县级审核,"加急"\r\n第二轮';

function entry(i: number): AuditInput {
  return {
    actorId: i % 5 === 0 ? null : `u${i % 3}`,
    actorRole: i % 5 === 0 ? null : "applicant",
    action: i % 2 === 0 ? "request.approve" : "request.submit",
    requestId: 100 + Math.floor(i / 3),
    stage: i === 3 ? TRICKY_STAGE : i % 2 === 0 ? "county_review" : null,
    outcome: i % 7 === 0 ? "refused" : "ok",
    channel: i % 4 === 0 ? "wecom" : "api",
    sourceIp: i % 4 === 0 ? null : "10.0.0.8",
    details: i === 3 ? TRICKY_DETAILS : { n: i, 说明: `第 ${i} 次操作`, items: [{ qty: i, price: 12.5 }] },
  };
}

async function appendEntries(database: Database, from: number, to: number) {
  for (let i = from; i <= to; i++) {
    await database.db.transaction((tx) => auditAppend(tx, new Date(T0 + i * 60_000), entry(i)));
  }
}

/** A fresh log of n entries whose triggers are off, for playing a forger with direct database access. */
async function tamperableLog(n: number): Promise<Database> {
  const database = await createTestDatabase();
  await appendEntries(database, 1, n);
  await database.db.execute(sql.raw("ALTER TABLE audit_log DISABLE TRIGGER ALL"));
  return database;
}

async function scenario(n: number, forge: (database: Database) => Promise<void>) {
  const database = await tamperableLog(n);
  try {
    await forge(database);
    return await verifyAuditChain(database.db, { batchSize: 3 });
  } finally {
    await database.close();
  }
}

async function rowAt(database: Database, seq: number) {
  const [row] = await database.db.select().from(auditLog).where(eq(auditLog.seq, seq));
  if (!row) throw new Error(`no audit entry ${seq}`);
  return row;
}

/** The database's own message, wherever the driver wraps it. */
async function refusal(query: PromiseLike<unknown>): Promise<string> {
  try {
    await query;
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause;
    return `${(err as Error).message} ${cause?.message ?? ""}`;
  }
  throw new Error("the query was not refused");
}

/** A strict RFC 4180 reader, to check the export from the outside. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
        else if (text[i] === '"') break;
        else field += text[i++];
      }
      i++;
    } else if (text[i] === ",") {
      row.push(field), (field = ""), i++;
    } else if (text.startsWith("\r\n", i)) {
      row.push(field), rows.push(row), (row = []), (field = ""), (i += 2);
    } else {
      field += text[i++];
    }
  }
  expect(row.length + field.length, "the last record ends with CRLF").toBe(0);
  return rows;
}

describe("a whole chain", () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  it("verifies an empty log with count 0", async () => {
    expect(await verifyAuditChain(database.db)).toEqual(intact(0));
  });

  it("verifies every entry, page by page, reporting progress against one total", async () => {
    await appendEntries(database, 1, 12);
    const progress: [number, number][] = [];
    const result = await verifyAuditChain(database.db, { batchSize: 5, onProgress: (c, t) => progress.push([c, t]) });
    expect(result).toEqual(intact(12));
    expect(progress).toEqual([
      [5, 12],
      [10, 12],
      [12, 12],
    ]);
    // A batch that divides the log exactly still ends cleanly.
    expect(await verifyAuditChain(database.db, { batchSize: 4 })).toEqual(intact(12));
  });

  it("refuses UPDATE, DELETE and TRUNCATE and keeps the rows", async () => {
    const before = await rowAt(database, 2);
    expect(await refusal(database.db.update(auditLog).set({ action: "x" }).where(eq(auditLog.seq, 2)))).toMatch(
      /append-only: UPDATE refused/,
    );
    expect(await refusal(database.db.delete(auditLog).where(eq(auditLog.seq, 2)))).toMatch(
      /append-only: DELETE refused/,
    );
    expect(await refusal(database.db.execute(sql`truncate audit_log`))).toMatch(/append-only: TRUNCATE refused/);
    expect(await rowAt(database, 2)).toEqual(before);
    expect(await verifyAuditChain(database.db)).toEqual(intact(12));
  });
});

describe("tampering behind the service's back", () => {
  it("finds a changed field in the entry that was changed", async () => {
    const result = await scenario(9, async ({ db }) => {
      await db.update(auditLog).set({ outcome: "ok", action: "request.withdraw" }).where(eq(auditLog.seq, 5));
    });
    expect(result).toEqual(broken(4, 5, "第 5 条记录的内容与其哈希不符（被修改）"));
  });

  it("names the seq of a deleted entry", async () => {
    const result = await scenario(9, async ({ db }) => {
      await db.delete(auditLog).where(eq(auditLog.seq, 5));
    });
    expect(result).toEqual(broken(4, 5, "第 5 条记录缺失（被删除）"));
  });

  it("names seq 1 when the first entry was deleted", async () => {
    const result = await scenario(4, async ({ db }) => {
      await db.delete(auditLog).where(eq(auditLog.seq, 1));
    });
    expect(result).toEqual(broken(0, 1, "第 1 条记录缺失（被删除）"));
  });

  it("finds two swapped entries at the first of them", async () => {
    const result = await scenario(9, async (database) => {
      const four = await rowAt(database, 4);
      const five = await rowAt(database, 5);
      await database.db.update(auditLog).set({ ...five, seq: 4 }).where(eq(auditLog.seq, 4));
      await database.db.update(auditLog).set({ ...four, seq: 5 }).where(eq(auditLog.seq, 5));
    });
    expect(result).toEqual(broken(3, 4, "第 4 条记录的前序哈希与第 3 条不符（顺序被改动或被插入）"));
  });

  it("catches a forger who rehashes the changed entry at the next one", async () => {
    const result = await scenario(9, async (database) => {
      const { hash: _, ...body } = await rowAt(database, 5);
      const forged = { ...body, details: { ...body.details, note: "金额改为 1 元" } };
      await database.db
        .update(auditLog)
        .set({ details: forged.details, hash: auditEntryHash(forged) })
        .where(eq(auditLog.seq, 5));
    });
    expect(result).toEqual(broken(5, 6, "第 6 条记录的前序哈希与第 5 条不符（顺序被改动或被插入）"));
  });

  it("catches an entry inserted by renumbering the ones after it", async () => {
    const result = await scenario(9, async (database) => {
      const { db } = database;
      // Two steps, because the primary key is checked row by row during a single shift.
      await db.execute(sql`update audit_log set seq = -seq - 1 where seq >= 5`);
      await db.execute(sql`update audit_log set seq = -seq where seq < 0`);
      const { hash: fourHash, ...four } = await rowAt(database, 4);
      const body = { ...four, seq: 5, action: "request.approve", prevHash: fourHash };
      await db.insert(auditLog).values({ ...body, hash: auditEntryHash(body) });
    });
    // The forged 5 links to 4 correctly; the old 5, now 6, still points at 4.
    expect(result).toEqual(broken(5, 6, "第 6 条记录的前序哈希与第 5 条不符（顺序被改动或被插入）"));
  });

  it("sees a row forged below seq 1, which a scan starting after 0 would skip", async () => {
    const result = await scenario(3, async (database) => {
      const { hash: _, ...first } = await rowAt(database, 1);
      const body = { ...first, seq: 0 };
      await database.db.insert(auditLog).values({ ...body, hash: auditEntryHash(body) });
    });
    expect(result).toEqual(broken(0, 0, "第 0 条记录的序号无效，序号应从 1 开始（疑为伪造插入）"));
  });

  it("cannot see a removed tail from the chain alone: that needs an anchor (audit-forgery.test.ts)", async () => {
    const result = await scenario(9, async ({ db }) => {
      await db.execute(sql`delete from audit_log where seq > 7`);
    });
    expect(result).toEqual(intact(7));
  });
});

describe("signatures", () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  it("signs every entry appended through the service's Db, savepoints included, over its hash", async () => {
    await appendEntries(database, 1, 3);
    // The job runner fires timers inside savepoints (tx.transaction): those entries are signed too.
    await database.db.transaction((tx) => tx.transaction((sp) => auditAppend(sp, new Date(T0 + 4 * 60_000), entry(4))));
    const rows = await database.db.select().from(auditLog).orderBy(asc(auditLog.seq));
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(verifyAuditSignature(testAuditSigner.publicKey, row.hash, row.sig!)).toBe(true);
    expect(await verifyAuditChain(database.db, { publicKey: testAuditSigner.publicKey })).toEqual(
      intact(4, { signaturesChecked: true }),
    );
  });

  it("names the first entry when the public key is not the signer's", async () => {
    const other = ephemeralAuditSigner();
    expect(await verifyAuditChain(database.db, { publicKey: other.publicKey })).toEqual(
      broken(0, 1, "第 1 条记录的签名无效（记录被改动后重算了哈希，或签名被改动，或公钥不是本服务的）"),
    );
  });

  it("names an entry a caller without the signer appended after signed ones", async () => {
    // A raw transaction, not one opened through signingDb: what a forger's own connection (or a code path the
    // service forgot to give the signer) would write.
    const raw = Object.getPrototypeOf(database.db) as Database["db"];
    await raw.transaction((tx) => auditAppend(tx, new Date(T0 + 5 * 60_000), entry(5)));
    expect(await verifyAuditChain(database.db)).toEqual(
      broken(4, 5, "第 5 条记录没有签名，而它之前已有签名记录或锚点（疑为伪造追加，或签名被删除）"),
    );
  });
});

describe("entries written before signing began", () => {
  it("are accepted while a signed entry after them vouches for them", async () => {
    const database = await createTestDatabase();
    try {
      const raw = Object.getPrototypeOf(database.db) as Database["db"];
      for (let i = 1; i <= 3; i++) await raw.transaction((tx) => auditAppend(tx, new Date(T0 + i * 60_000), entry(i)));
      await appendEntries(database, 4, 5);
      expect(await verifyAuditChain(database.db, { publicKey: testAuditSigner.publicKey })).toEqual(
        intact(5, { signed: 2, unsignedBefore: 3, signaturesChecked: true }),
      );
    } finally {
      await database.close();
    }
  });
});

describe("concurrent appends", () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  it("50 concurrent transactions get seq 1..50 on one unforked chain", async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        database.db.transaction((tx) => auditAppend(tx, new Date(T0 + i), entry(i + 1))),
      ),
    );
    const rows = await database.db
      .select({ seq: auditLog.seq, prevHash: auditLog.prevHash, hash: auditLog.hash })
      .from(auditLog)
      .orderBy(asc(auditLog.seq));
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.prevHash)).size).toBe(50);
    expect(await verifyAuditChain(database.db)).toEqual(intact(50));
  });

  it("a verification stops at the head it found, while appends go on", async () => {
    let appending: Promise<unknown> | undefined;
    const progress: [number, number][] = [];
    const result = await verifyAuditChain(database.db, {
      batchSize: 20,
      onProgress: (checked, total) => {
        progress.push([checked, total]);
        appending ??= database.db.transaction((tx) => auditAppend(tx, new Date(T0 + 51), entry(51)));
      },
    });
    await appending;
    expect(result).toEqual(intact(50));
    expect(progress).toEqual([
      [20, 50],
      [40, 50],
      [50, 50],
    ]);
    expect(await verifyAuditChain(database.db)).toEqual(intact(51));
  });
});

describe("export", () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
    await appendEntries(database, 1, 7);
  });
  afterAll(() => database.close());

  async function exportText(format: "jsonl" | "csv", batchSize?: number) {
    const chunks: string[] = [];
    const progress: [number, number][] = [];
    const written = await exportAudit(database.db, format, async (chunk) => void chunks.push(chunk), {
      batchSize,
      onProgress: (done, total) => progress.push([done, total]),
    });
    return { text: chunks.join(""), written, progress };
  }

  it("writes one JSON object per line that can be re-hashed without the service", async () => {
    const { text, written, progress } = await exportText("jsonl", 3);
    expect(written).toBe(7);
    expect(progress).toEqual([
      [3, 7],
      [6, 7],
      [7, 7],
    ]);
    const lines = text.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(7);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const [i, record] of records.entries()) {
      expect(Object.keys(record)).toEqual(FIELDS);
      expect(record.seq).toBe(i + 1);
      expect(record.at).toBe(new Date(T0 + (i + 1) * 60_000).toISOString());
      const { hash, sig, ...body } = record;
      expect(sha256Hex(canonicalJson(body))).toBe(hash);
      expect(verifyAuditSignature(testAuditSigner.publicKey, hash as string, sig as string)).toBe(true);
    }
    expect(records[2]!.details).toEqual(TRICKY_DETAILS);
    expect(records[4]).toMatchObject({ actorId: null, sourceIp: "10.0.0.8", stage: null });
  });

  it("writes RFC 4180 CSV with a BOM, a header and quoted awkward cells", async () => {
    const { text, written, progress } = await exportText("csv");
    expect(written).toBe(7);
    expect(progress).toEqual([[7, 7]]);
    expect(text.startsWith("\uFEFFseq,at,actorId,")).toBe(true);
    expect(text).toContain(`"{""note"":""含逗号,和\\""引号\\""\\n以及换行的说明""`);
    const [header, ...rows] = parseCsv(text.slice(1));
    expect(header).toEqual(FIELDS);
    expect(rows).toHaveLength(7);
    expect(rows.every((row) => row.length === 14)).toBe(true);
    expect(text).toContain(`"县级审核,""加急""\r\n第二轮"`);
    expect(rows[2]![6]).toBe(TRICKY_STAGE);
    expect(JSON.parse(rows[2]![10]!)).toEqual(TRICKY_DETAILS);
    expect(rows[4]!.slice(0, 4)).toEqual(["5", new Date(T0 + 5 * 60_000).toISOString(), "", ""]);
  });

  it("exports an empty log as a bare header", async () => {
    const empty = await createTestDatabase();
    try {
      const chunks: string[] = [];
      expect(await exportAudit(empty.db, "csv", (chunk) => void chunks.push(chunk))).toBe(0);
      expect(chunks.join("")).toBe(`\uFEFF${FIELDS.join(",")}\r\n`);
      expect(await exportAudit(empty.db, "jsonl", () => expect.unreachable())).toBe(0);
    } finally {
      await empty.close();
    }
  });
});
