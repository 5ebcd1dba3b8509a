import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { units, userChannels, users } from "../../db/schema";
import { mutate } from "../core/mutate";
import type { ServiceContext } from "../core/context";
import { type FieldErrors, invalid, ServiceError } from "../core/errors";
import type { UnitKind } from "./queries";
import { requireOperator, ROLE_NAMES, ROLES, type Role } from "../core/roles";
import { fieldErrors, parseJsonText, ROOT_FIELD } from "../core/validation";

// ---------------------------------------------------------------------------------------------------------
// The file format. The zod schema holds the rules of one row; the rules across rows and against the
// database (hierarchy, parents, duplicates, role ↔ unit kind) live in checkDirectory below.
// ---------------------------------------------------------------------------------------------------------

export const UNIT_KINDS = ["city", "county", "unit"] as const satisfies readonly UnitKind[];

const KIND_NAMES: Record<UnitKind, string> = {
  city: "市级单位（city）",
  county: "县级单位（county）",
  unit: "普通单位（unit）",
};

// Which kinds a unit of each kind may hang under (flows.md "Roles": city → county → unit).
const ALLOWED_PARENTS: Record<UnitKind, readonly UnitKind[]> = {
  city: [],
  county: ["city"],
  unit: ["county", "city"],
};

// The kind of unit a role is bound to; other roles may sit in any unit.
// 主管单位审核人 act for a 主管单位, which is a unit of kind "unit" (002 第二十三条).
const ROLE_UNIT_KIND: Partial<Record<Role, UnitKind>> = { county_bureau: "county", manager: "city", unit_supervisor: "unit" };

const idSchema = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, {
    error: "标识只能由小写字母、数字和 _ . - 组成，以字母或数字开头，最长 64 个字符",
  });

const nameSchema = z.string().trim().min(1, { error: "名称不能为空" }).max(100, { error: "名称不能超过 100 个字符" });

const kindSchema = z.enum(UNIT_KINDS, {
  error: "类型应为 city（市级单位）、county（县级单位）或 unit（普通单位）",
});

// 004 第四十二条: whose finance pays a unit's cloud costs when not its level's own (省级 only ever set here).
export const FUNDING_LEVELS = ["province", "city", "county"] as const;
const fundingSchema = z.enum(FUNDING_LEVELS, {
  error: "资金来源应为 province（省级财政）、city（市级财政）或 county（县（市、区）级财政）；不写或 null 按单位层级",
});

const mobileSchema = z
  .string()
  .trim()
  .regex(/^1[3-9]\d{9}$/, { error: "手机号应为 11 位中国大陆手机号码，如 13800138000" });

// WeCom's own rule for a member UserID: 1–64 of letters, digits and _-@. , starting with a letter or digit.
const wecomUserIdSchema = z
  .string()
  .trim()
  .regex(/^(?:[A-Za-z0-9][A-Za-z0-9_.@-]{0,63})?$/, {
    error: "企业微信账号只能由字母、数字和 _ - @ . 组成，以字母或数字开头，最长 64 个字符",
  });

const roleSchema = z.enum(ROLES, {
  error: (iss) => `未知角色「${String(iss.input)}」，可选：${ROLES.join("、")}`,
});

const rolesSchema = z
  .array(roleSchema)
  .min(1, { error: "至少需要一个角色" })
  .superRefine((roles, ctx) => {
    const seen = new Set<Role>();
    for (const role of roles) {
      if (seen.has(role)) ctx.addIssue({ code: "custom", message: `角色 ${role} 重复` });
      seen.add(role);
    }
  })
  // Stored in ROLES order so that the same set always compares equal on re-import.
  .transform((roles) => ROLES.filter((r) => roles.includes(r)));

// A row names the record by id and changes only the fields it carries: a field left out keeps what the directory
// holds (a partial file, such as one that only adds WeCom accounts, wipes nothing). A new record needs the fields
// marked required below; checkDirectory names any that are missing. Only `wecomUserId` (null or ""), a unit's `funding` (null), a unit's
// `parent` (null, for a city-level unit) and a unit's `supervisor` (null: no 主管单位) can be cleared.
export const unitRowSchema = z.strictObject({
  id: idSchema,
  name: nameSchema.optional(), // required for a new unit
  kind: kindSchema.optional(), // required for a new unit
  parent: idSchema.nullable().optional(), // a new unit without one has none
  funding: fundingSchema.nullable().optional(), // null: by the unit's level (county units their county's, others the city's)
  // 002 第十七条、第二十三条: the 主管单位 of a 下属单位 (null or left out of a new unit: none). Files without it keep working.
  supervisor: idSchema.nullable().optional(),
});

export const userRowSchema = z.strictObject({
  id: idSchema,
  name: nameSchema.optional(), // required for a new user
  unit: idSchema.optional(), // required for a new user
  mobile: mobileSchema.optional(), // required for a new user
  wecomUserId: wecomUserIdSchema.nullable().optional(), // null or "": none; a new user without one has none
  roles: rolesSchema.optional(), // required for a new user
  active: z.boolean({ error: "active 应为 true 或 false" }).optional(), // a new user without it is active
});

const REQUIRED_FOR_NEW_UNIT = ["name", "kind"] as const;
const REQUIRED_FOR_NEW_USER = ["name", "unit", "mobile", "roles"] as const;

export const directoryFileSchema = z.strictObject({
  units: z.array(unitRowSchema).default([]),
  users: z.array(userRowSchema).default([]),
});

/** A parsed, row-valid directory file. */
export type DirectoryFile = z.output<typeof directoryFileSchema>;
/** What a directory file may look like (every field but id optional for a record already in the directory). */
export type DirectoryFileInput = z.input<typeof directoryFileSchema>;

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface ImportResult {
  units: ImportCounts;
  users: ImportCounts;
}

// Chinese messages for the generic zod issues; the field schemas above carry their own specific ones.
const TYPE_NAMES: Record<string, string> = {
  string: "字符串",
  number: "数字",
  boolean: "布尔值（true 或 false）",
  array: "数组",
  object: "对象",
};

const zhErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return "缺少必填字段";
      if (iss.input === null) return "此字段不能清空；不修改就不写这个字段";
      return `类型错误，应为${TYPE_NAMES[iss.expected] ?? iss.expected}`;
    case "too_small":
      return iss.origin === "array" ? "至少需要一项" : "不能为空";
    case "too_big":
      return `不能超过 ${String(iss.maximum)}`;
    case "invalid_value":
      return `应为以下之一：${iss.values.map(String).join("、")}`;
    default:
      return "格式不正确";
  }
};

class Errors {
  readonly fields: FieldErrors = {};
  add(path: string, message: string) {
    (this.fields[path] ??= []).push(message);
  }
  addIssues(issues: readonly z.core.$ZodIssue[]) {
    for (const [path, messages] of Object.entries(fieldErrors(issues))) for (const m of messages) this.add(path, m);
  }
  get count() {
    return Object.keys(this.fields).length;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The fields of a row that are valid on their own, so cross-row checks can run on a row with other errors. */
function salvage<T extends z.ZodObject>(schema: T, raw: unknown): Partial<z.output<T>> {
  const out: Record<string, unknown> = {};
  if (!isRecord(raw)) return out as Partial<z.output<T>>;
  for (const [key, field] of Object.entries(schema.shape)) {
    const r = (field as z.ZodType).safeParse(raw[key]);
    if (r.success) out[key] = r.data;
  }
  return out as Partial<z.output<T>>;
}

interface ExistingUnit {
  id: string;
  kind: UnitKind;
  parentId: string | null;
  funding: string | null;
  supervisorId: string | null;
}

interface ExistingUser {
  id: string;
  unitId: string;
  roles: string[];
  wecomUserId: string;
}

/**
 * A field of a file row as the directory will hold it: the row's value when the row names the field, else what
 * the directory holds (or `fallback` for a new record). undefined when the row names it with a value that is
 * not valid (reported by the schema already), so that checks built on it are skipped.
 */
function effective<T>(raw: unknown, key: string, salvaged: T | undefined, stored: T | undefined, fallback?: T): T | undefined {
  if (isRecord(raw) && raw[key] !== undefined) return salvaged;
  return stored !== undefined ? stored : fallback;
}

/**
 * 002 第十七条、第二十三条: a 下属单位's 主管单位, judged on the directory as it will be. The 主管单位 is a unit of kind
 * "unit" under the same parent (a city-level 业务部门 for a city-level 下属单位, a 业务部门 of the same county for a
 * county one), one level only (a 主管单位 is no one's 下属单位), never the unit itself nor a cycle. A unit the file
 * leaves alone is checked too when the file changes its 主管单位; its problem is told at that 主管单位's row.
 */
function checkSupervisors(
  fileUnits: ReadonlyMap<string, { index: number; kind?: UnitKind; parent?: string | null; supervisor?: string | null }>,
  dbUnits: ReadonlyMap<string, ExistingUnit>,
  errors: Errors,
) {
  // The directory after the import; a field the file names with an invalid value is undefined (reported already).
  const after = new Map<string, { kind?: UnitKind; parent?: string | null; supervisor?: string | null }>();
  for (const [id, u] of dbUnits) after.set(id, { kind: u.kind, parent: u.parentId, supervisor: u.supervisorId });
  for (const [id, u] of fileUnits) after.set(id, { kind: u.kind, parent: u.parent, supervisor: u.supervisor });
  for (const [id, unit] of after) {
    const supervisorId = unit.supervisor;
    if (supervisorId === null || supervisorId === undefined) continue;
    const own = fileUnits.get(id);
    const upstream = fileUnits.get(supervisorId);
    // Where to tell it: the row itself, or (a unit the file leaves alone) the 主管单位's row that the file changes.
    const path = own ? `units[${own.index}].supervisor` : upstream ? `units[${upstream.index}].id` : null;
    if (path === null) continue;
    const add = (message: string) => errors.add(path, own ? message : `现有下属单位 ${id} 将不符合要求：${message}`);
    if (supervisorId === id) {
      add("不能以自身为主管单位");
      continue;
    }
    const sup = after.get(supervisorId);
    if (!sup) {
      add(`主管单位 ${supervisorId} 不存在（文件和现有通讯录中都没有）`);
      continue;
    }
    if (unit.kind !== undefined && unit.kind !== "unit") {
      add(`只有${KIND_NAMES.unit}可以有主管单位，${id} 是${KIND_NAMES[unit.kind]}`);
      continue;
    }
    if (sup.kind !== undefined && sup.kind !== "unit") {
      add(`主管单位应为${KIND_NAMES.unit}，${supervisorId} 是${KIND_NAMES[sup.kind]}`);
      continue;
    }
    // A cycle: following the 主管单位 from this unit comes back to it.
    const seen = [id];
    let at: string | null | undefined = supervisorId;
    while (at !== null && at !== undefined && !seen.includes(at) && seen.length <= after.size) {
      seen.push(at);
      at = after.get(at)?.supervisor;
    }
    if (at === id) {
      add(`主管单位关系形成循环：${[...seen, id].join(" → ")}`);
      continue;
    }
    // A 主管单位 naming itself is told at its own row.
    if (sup.supervisor !== null && sup.supervisor !== undefined && sup.supervisor !== supervisorId) {
      add(`主管单位 ${supervisorId} 本身是 ${sup.supervisor} 的下属单位；主管关系只设一级`);
      continue;
    }
    if (unit.parent !== undefined && sup.parent !== undefined && unit.parent !== sup.parent) {
      add(`下属单位应与主管单位同属一个上级单位（同为市级单位或同属一个县（市、区））：${id} 的上级是 ${unit.parent ?? "无"}，${supervisorId} 的上级是 ${sup.parent ?? "无"}`);
    }
  }
}

/**
 * The rules across rows and against what the database already holds. The outcome is judged on the
 * directory as it will be after the import: database rows overlaid with the file's rows.
 */
function checkDirectory(
  rawUnits: readonly unknown[],
  rawUsers: readonly unknown[],
  dbUnits: ReadonlyMap<string, ExistingUnit>,
  dbUsers: ReadonlyMap<string, ExistingUser>,
  errors: Errors,
) {
  // Units: the first row of an id counts, later ones are duplicates.
  const fileUnits = new Map<string, { index: number; kind?: UnitKind; parent?: string | null; funding?: string | null; supervisor?: string | null }>();
  rawUnits.forEach((raw, index) => {
    const row = salvage(unitRowSchema, raw);
    if (row.id === undefined) return;
    const first = fileUnits.get(row.id);
    if (first) {
      errors.add(`units[${index}].id`, `单位标识 ${row.id} 与 units[${first.index}] 重复`);
      return;
    }
    const stored = dbUnits.get(row.id);
    if (!stored) for (const key of REQUIRED_FOR_NEW_UNIT) if (!isRecord(raw) || raw[key] === undefined) errors.add(`units[${index}].${key}`, "新单位必须填写此字段");
    fileUnits.set(row.id, {
      index,
      kind: effective(raw, "kind", row.kind, stored?.kind),
      parent: effective(raw, "parent", row.parent, stored?.parentId, null),
      funding: effective(raw, "funding", row.funding, stored?.funding, null),
      supervisor: effective(raw, "supervisor", row.supervisor, stored?.supervisorId, null),
    });
  });

  // exists=false: nowhere; kind undefined: in the file but its own kind is invalid (reported there).
  const lookupUnit = (id: string): { exists: boolean; kind?: UnitKind } => {
    const inFile = fileUnits.get(id);
    if (inFile) return { exists: true, kind: inFile.kind };
    const inDb = dbUnits.get(id);
    return inDb ? { exists: true, kind: inDb.kind } : { exists: false };
  };

  for (const [id, unit] of fileUnits) {
    const { kind, parent, index } = unit;
    if (kind === undefined || parent === undefined) continue;
    const path = `units[${index}].parent`;
    if (kind === "city") {
      if (parent !== null) errors.add(path, "市级单位不应有上级单位，parent 应为 null");
      continue;
    }
    if (parent === null) {
      errors.add(path, kind === "county" ? "县级单位必须有上级单位（市级）" : "单位必须有上级单位（县级或市级）");
      continue;
    }
    if (parent === id) {
      errors.add(path, "不能以自身为上级单位");
      continue;
    }
    const found = lookupUnit(parent);
    if (!found.exists) {
      errors.add(path, `上级单位 ${parent} 不存在（文件和现有通讯录中都没有）`);
    } else if (found.kind !== undefined && !ALLOWED_PARENTS[kind].includes(found.kind)) {
      errors.add(
        path,
        `${KIND_NAMES[kind]}的上级应为${ALLOWED_PARENTS[kind].map((k) => KIND_NAMES[k]).join("或")}，${parent} 是${KIND_NAMES[found.kind]}`,
      );
    }
  }

  checkSupervisors(fileUnits, dbUnits, errors);

  // 004 第四十二条: a county's finance pays only for the units of a county.
  for (const unit of fileUnits.values()) {
    if (unit.funding !== "county" || unit.kind === undefined || unit.parent === undefined) continue;
    const inCounty = unit.kind === "county" || (unit.kind === "unit" && unit.parent !== null && lookupUnit(unit.parent).kind === "county");
    if (!inCounty) errors.add(`units[${unit.index}].funding`, "只有县级单位及其下属单位可由县（市、区）级财政支付");
  }

  // Users: first row of an id counts.
  const fileUsers = new Map<string, { index: number; unit?: string; roles?: readonly string[]; wecomUserId?: string }>();
  rawUsers.forEach((raw, index) => {
    const row = salvage(userRowSchema, raw);
    if (row.id === undefined) return;
    const first = fileUsers.get(row.id);
    if (first) {
      errors.add(`users[${index}].id`, `用户标识 ${row.id} 与 users[${first.index}] 重复`);
      return;
    }
    const stored = dbUsers.get(row.id);
    if (!stored) for (const key of REQUIRED_FOR_NEW_USER) if (!isRecord(raw) || raw[key] === undefined) errors.add(`users[${index}].${key}`, "新用户必须填写此字段");
    fileUsers.set(row.id, {
      index,
      unit: effective(raw, "unit", row.unit, stored?.unitId),
      roles: effective<readonly string[]>(raw, "roles", row.roles, stored?.roles),
      // null and "" both mean "no WeCom account".
      wecomUserId: effective(raw, "wecomUserId", row.wecomUserId === undefined ? undefined : (row.wecomUserId ?? ""), stored?.wecomUserId, ""),
    });
  });

  const roleProblem = (roles: readonly string[], unitId: string, kind: UnitKind): string | null => {
    for (const role of roles) {
      const required = ROLE_UNIT_KIND[role as Role];
      if (required !== undefined && required !== kind) {
        return `角色 ${role}（${ROLE_NAMES[role as Role]}）只能授予${KIND_NAMES[required]}的用户，${unitId} 是${KIND_NAMES[kind]}`;
      }
    }
    return null;
  };

  for (const user of fileUsers.values()) {
    if (user.unit === undefined) continue;
    const found = lookupUnit(user.unit);
    if (!found.exists) {
      errors.add(`users[${user.index}].unit`, `所属单位 ${user.unit} 不存在（文件和现有通讯录中都没有）`);
      continue;
    }
    if (user.roles === undefined || found.kind === undefined) continue;
    const problem = roleProblem(user.roles, user.unit, found.kind);
    if (problem) errors.add(`users[${user.index}].roles`, problem);
  }

  // A unit whose kind the file changes must still fit the children and users it keeps from the database.
  for (const [id, unit] of fileUnits) {
    const before = dbUnits.get(id);
    if (!before || unit.kind === undefined || unit.kind === before.kind) continue;
    const newKind = unit.kind;
    const path = `units[${unit.index}].kind`;
    for (const child of dbUnits.values()) {
      if (child.parentId !== id || fileUnits.has(child.id)) continue;
      if (!ALLOWED_PARENTS[child.kind].includes(newKind)) {
        errors.add(path, `改为${KIND_NAMES[newKind]}后，现有下级单位 ${child.id} 是${KIND_NAMES[child.kind]}，其上级将不符合层级要求`);
      }
    }
    for (const member of dbUsers.values()) {
      if (member.unitId !== id || fileUsers.has(member.id)) continue;
      const problem = roleProblem(member.roles, id, newKind);
      if (problem) errors.add(path, `改为${KIND_NAMES[newKind]}后，现有用户 ${member.id} 将不符合要求：${problem}`);
    }
  }

  // WeCom routes cards by UserID, which it compares case-insensitively; two people on one account is a leak.
  const wecomOwner = new Map<string, string>();
  for (const member of dbUsers.values()) {
    if (member.wecomUserId !== "" && !fileUsers.has(member.id)) wecomOwner.set(member.wecomUserId.toLowerCase(), member.id);
  }
  for (const [id, user] of fileUsers) {
    if (!user.wecomUserId) continue;
    const key = user.wecomUserId.toLowerCase();
    const owner = wecomOwner.get(key);
    if (owner !== undefined) {
      errors.add(`users[${user.index}].wecomUserId`, `企业微信账号 ${user.wecomUserId} 已被用户 ${owner} 使用`);
    } else {
      wecomOwner.set(key, id);
    }
  }
}

// The file's wecomUserId is the person's address on the wecom channel (user_channels).
const WECOM = "wecom";

// Serialises imports so the checks above see the directory the upserts will change.
const DIRECTORY_IMPORT_LOCK_KEY = 7_216_551_010;

const KIND_ORDER: readonly UnitKind[] = ["city", "county", "unit"];
const INSERT_CHUNK = 500;

const sameRoles = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((r, i) => r === b[i]);

/**
 * Imports a directory file (units and users), all or nothing: every error of the file is reported at once and
 * an invalid file changes nothing. Upserts by id; re-importing the same file changes nothing.
 */
export function importDirectory({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<ImportResult> {
  return runImport(ctx, input, false);
}

/** Ends a dry run's transaction with what the import would have done, so that every write rolls back. */
class DryRunRollback extends Error {
  constructor(readonly result: ImportResult) {
    super("directory import dry run");
  }
}

async function runImport(ctx: ServiceContext, input: unknown, dryRun: boolean): Promise<ImportResult> {
  // Inside mutate, so a refusal is audited like any other (an invalid file, a 400, writes nothing).
  return mutate(ctx, { action: dryRun ? "directory.check" : "directory.import" }, async (tx, j) => {
    requireOperator(ctx.actor, "directory");
    if (!isRecord(input)) {
      throw invalid("通讯录文件有 1 处错误", { [ROOT_FIELD]: ["通讯录文件应为 JSON 对象，包含 units 和 users 两个数组"] });
    }
    const errors = new Errors();
    const parsed = directoryFileSchema.safeParse(input, { error: zhErrorMap });
    if (!parsed.success) errors.addIssues(parsed.error.issues);
    const rawUnits = Array.isArray(input.units) ? input.units : [];
    const rawUsers = Array.isArray(input.users) ? input.users : [];

    await tx.execute(sql`select pg_advisory_xact_lock(${DIRECTORY_IMPORT_LOCK_KEY})`);
    const existingUnits = new Map((await tx.select().from(units)).map((u) => [u.id, u]));
    const wecomIds = new Map((await tx.select().from(userChannels).where(eq(userChannels.channel, WECOM))).map((c) => [c.userId, c.address]));
    const existingUsers = new Map((await tx.select().from(users)).map((u) => [u.id, { ...u, wecomUserId: wecomIds.get(u.id) ?? "" }]));

    checkDirectory(rawUnits, rawUsers, existingUnits, existingUsers, errors);
    if (errors.count > 0 || !parsed.success) {
      throw invalid(`通讯录文件有 ${Math.max(errors.count, 1)} 处错误`, errors.fields);
    }
    const file = parsed.data;
    const now = ctx.clock.now();
    const unitIds = { created: [] as string[], updated: [] as string[] };
    const userIds = { created: [] as string[], updated: [] as string[] };

    // 002 第二十三条: who is whose 主管单位, set after the units so that a 主管单位 new in the file exists by then.
    const supervised: { id: string; supervisorId: string | null }[] = [];
    // Parents before children: a parent is always of an earlier kind (city → county → unit).
    for (const kind of KIND_ORDER) {
      const fresh: (typeof units.$inferInsert)[] = [];
      for (const u of file.units) {
        if ((u.kind ?? existingUnits.get(u.id)?.kind) !== kind) continue;
        const before = existingUnits.get(u.id);
        if (!before) {
          // checkDirectory has made sure a new unit names its name and kind.
          // The 主管单位 is set below, once every unit of the file exists.
          fresh.push({ id: u.id, name: u.name!, kind: u.kind!, parentId: u.parent ?? null, funding: u.funding ?? null, createdAt: now, updatedAt: now });
          if (u.supervisor) supervised.push({ id: u.id, supervisorId: u.supervisor });
          unitIds.created.push(u.id);
          continue;
        }
        const row = {
          name: u.name ?? before.name,
          kind: u.kind ?? before.kind,
          parentId: u.parent === undefined ? before.parentId : u.parent,
          funding: u.funding === undefined ? before.funding : u.funding,
        };
        const supervisorId = u.supervisor === undefined ? before.supervisorId : u.supervisor;
        if (supervisorId !== before.supervisorId) supervised.push({ id: u.id, supervisorId });
        if (before.name !== row.name || before.kind !== row.kind || before.parentId !== row.parentId || before.funding !== row.funding) {
          await tx
            .update(units)
            .set({ ...row, updatedAt: now })
            .where(eq(units.id, u.id));
          unitIds.updated.push(u.id);
        } else if (supervisorId !== before.supervisorId) {
          unitIds.updated.push(u.id);
        }
      }
      for (let i = 0; i < fresh.length; i += INSERT_CHUNK) await tx.insert(units).values(fresh.slice(i, i + INSERT_CHUNK));
    }
    for (const s of supervised) await tx.update(units).set({ supervisorId: s.supervisorId, updatedAt: now }).where(eq(units.id, s.id));

    const freshUsers: (typeof users.$inferInsert)[] = [];
    const readdressed: { userId: string; address: string }[] = [];
    for (const u of file.users) {
      const before = existingUsers.get(u.id);
      // A field the row leaves out keeps its stored value; a new user has every required one (checkDirectory).
      const row = {
        name: u.name ?? before?.name ?? "",
        unitId: u.unit ?? before?.unitId ?? "",
        mobile: u.mobile ?? before?.mobile ?? "",
        roles: u.roles ?? before?.roles ?? [],
        active: u.active ?? before?.active ?? true,
      };
      const wecomUserId = u.wecomUserId === undefined ? (before?.wecomUserId ?? "") : (u.wecomUserId ?? "");
      if (wecomUserId !== (before?.wecomUserId ?? "")) readdressed.push({ userId: u.id, address: wecomUserId });
      if (!before) {
        freshUsers.push({ id: u.id, ...row, createdAt: now, updatedAt: now });
        userIds.created.push(u.id);
      } else if (
        before.name !== row.name ||
        before.unitId !== row.unitId ||
        before.mobile !== row.mobile ||
        before.wecomUserId !== wecomUserId ||
        before.active !== row.active ||
        !sameRoles(before.roles, row.roles)
      ) {
        await tx
          .update(users)
          .set({ ...row, updatedAt: now })
          .where(eq(users.id, u.id));
        userIds.updated.push(u.id);
      }
    }
    for (let i = 0; i < freshUsers.length; i += INSERT_CHUNK) {
      await tx.insert(users).values(freshUsers.slice(i, i + INSERT_CHUNK));
    }
    // Old addresses go first, so that two people may swap accounts in one file.
    if (readdressed.length > 0) {
      const ids = readdressed.map((r) => r.userId);
      await tx.delete(userChannels).where(and(eq(userChannels.channel, WECOM), inArray(userChannels.userId, ids)));
      const fresh = readdressed.filter((r) => r.address !== "").map((r) => ({ userId: r.userId, channel: WECOM, address: r.address }));
      for (let i = 0; i < fresh.length; i += INSERT_CHUNK) await tx.insert(userChannels).values(fresh.slice(i, i + INSERT_CHUNK));
    }

    const result: ImportResult = {
      units: {
        created: unitIds.created.length,
        updated: unitIds.updated.length,
        unchanged: file.units.length - unitIds.created.length - unitIds.updated.length,
      },
      users: {
        created: userIds.created.length,
        updated: userIds.updated.length,
        unchanged: file.users.length - userIds.created.length - userIds.updated.length,
      },
    };
    // Ids say who was added or changed (a granted role is worth tracing); phone numbers stay out.
    // A dry run goes as far as the real import, so that its counts are the import's own, then undoes it.
    if (dryRun) throw new DryRunRollback(result);
    j.add({ action: "directory.import", details: { ...result, unitIds, userIds } });
    return result;
  });
}

/** One bad field of a directory file, as the operator finds it in the file: which list, which row, which field. */
export interface DirectoryProblem {
  /** The field's path, as the 400's `fields` names it: `users[3].mobile`. */
  path: string;
  list: "units" | "users" | null;
  /** 1-based: the first row of a list is row 1. */
  row: number | null;
  /** The row's id when it has a readable one. */
  id: string | null;
  /** The field's name in words (手机号), or null for the whole row or file. */
  field: string | null;
  message: string;
}

/** What a dry run of a directory file finds: every bad row, or else what the import would create and change. */
export type DirectoryCheck =
  | { valid: true; problems: []; units: ImportCounts; users: ImportCounts }
  | { valid: false; problems: DirectoryProblem[]; units: null; users: null };

const FIELD_NAMES: Record<string, string> = {
  id: "标识",
  name: "名称",
  kind: "类型",
  parent: "上级单位",
  funding: "资金来源",
  supervisor: "主管单位",
  unit: "所属单位",
  mobile: "手机号",
  wecomUserId: "企业微信账号",
  roles: "角色",
  active: "是否启用",
};

/** The problems of a refused file, units before users, each list in row order. */
export function directoryProblems(fields: FieldErrors, input: unknown): DirectoryProblem[] {
  const problems: DirectoryProblem[] = [];
  for (const [path, messages] of Object.entries(fields)) {
    const at = /^(units|users)\[(\d+)\](?:\.([A-Za-z]+))?/.exec(path);
    const list = at ? (at[1] as "units" | "users") : null;
    const index = at ? Number(at[2]) : null;
    const raw = list !== null && index !== null && isRecord(input) && Array.isArray(input[list]) ? (input[list] as unknown[])[index] : undefined;
    const id = isRecord(raw) && typeof raw.id === "string" && idSchema.safeParse(raw.id).success ? raw.id.trim() : null;
    const key = at?.[3];
    const field = key === undefined ? null : (FIELD_NAMES[key] ?? key);
    for (const message of messages) problems.push({ path, list, row: index === null ? null : index + 1, id, field, message });
  }
  const order = (p: DirectoryProblem) => (p.list === null ? 0 : p.list === "units" ? 1 : 2);
  return problems.sort((a, b) => order(a) - order(b) || (a.row ?? 0) - (b.row ?? 0));
}

/**
 * A dry run of importDirectory: the same authorization and checks against the directory as it is now, and nothing
 * written. An invalid file answers with every problem (not a 400), so the operator sees them all before any change.
 */
export async function checkDirectoryImport({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<DirectoryCheck> {
  try {
    await runImport(ctx, input, true);
  } catch (err) {
    if (err instanceof DryRunRollback) return { valid: true, problems: [], ...err.result };
    if (err instanceof ServiceError && err.code === "invalid_input")
      return { valid: false, problems: directoryProblems(err.fields ?? { [ROOT_FIELD]: [err.message] }, input), units: null, users: null };
    throw err;
  }
  throw new Error("a directory dry run must end in its rollback");
}

/** Parses the text of a directory file. */
export function parseDirectoryJson(text: string): unknown {
  return parseJsonText(text, "通讯录文件");
}
