import type { z } from "zod";
import type { FlowKey } from "../../../../flows";
import type { ProfileKey } from "../../../../profiles";

/**
 * How a field is typed in and read back:
 * - text, textarea, tel, email, date: a string ("" is left out, so the schema's default or "请填写" applies);
 * - int: a whole number (full-width digits too); anything else is kept as typed, so it is reported, not guessed;
 * - decimal: a number that may have a fraction (空间大小 2.5 T), read as int is;
 * - select: one option's code, shown by its label; checkbox: present or not;
 * - checklist: several options' codes (whole numbers when `intValues`), e.g. the resources to revoke;
 * - lines: several values, one a line (commas and 、 also separate), e.g. hosts and source addresses;
 * - ports: "80, 443/tcp, 53/udp" as [{ port, protocol }];
 * - file: an uploaded file's id; the page stores a chosen file first and puts its id in its place.
 */
export type FieldKind = "text" | "textarea" | "tel" | "email" | "date" | "int" | "decimal" | "select" | "checkbox" | "checklist" | "lines" | "ports" | "file";

export interface FieldOption {
  value: string;
  label: string;
}

export interface Field {
  /** Path in the flow's form: "contact.mobile"; inside rows relative to the row: "backup.type". */
  name: string;
  /** As the official form writes it: 联系电话, 内存(GB). */
  label: string;
  /** What messages call it when the label carries a unit or a note: 内存, 系统盘/数据盘. */
  short?: string;
  kind: FieldKind;
  /** Fixed options; fields whose options come from the ledger or the directory (a resource, a person) have none. */
  options?: readonly FieldOption[];
  /** The label of the empty option of a select ("不需要备份"); a select without one must be chosen. */
  emptyOption?: string;
  intValues?: boolean;
  optional?: boolean;
  /** Shown after numbers in messages: "GB", "核", "个月". */
  unit?: string;
  hint?: string;
  /** A link after the hint, to the page where what the field names is kept (系统登记 for 系统名称). */
  link?: { href: string; text: string };
  placeholder?: string;
  /** What a new row holds before anyone types (数量 1); a row holding only these is blank. */
  initial?: string;
  /** The message when the value has the wrong shape: 联系电话格式不正确，应为 11 位手机号. */
  format?: string;
  /** Only on these profiles' forms (a blank of their own annex: 002 附件1 申请期限); every profile's when absent. */
  profiles?: readonly ProfileKey[];
}

/** Repeated rows (a VM per row): field names in the body are `vms[0].vcpu`. */
export interface Rows {
  name: string;
  label: string;
  fields: readonly Field[];
  max: number;
}

export interface Section {
  title: string;
  note?: string;
  /** A link after the note: the text of a document to read, print and sign (002 附件2). */
  link?: { href: string; text: string };
  fields?: readonly Field[];
  rows?: Rows;
  /** Only on these profiles' forms; every profile's when absent. */
  profiles?: readonly ProfileKey[];
  /** What a profile's form says instead (its own annex's documents in the 附件 note). */
  byProfile?: Partial<Record<ProfileKey, { title?: string; note?: string; link?: { href: string; text: string } }>>;
}

/** A form a unit can fill in on the web, in the words of its official form, and how it becomes the flow's input. */
export interface WebForm {
  /** The path segment: /new/<key>. */
  key: string;
  /** The flow a submission starts; null for what is not a flow (年度资源需求). */
  flow: FlowKey | null;
  title: string;
  /** The official form it follows: 《…IaaS 资源申请表》（004 附件2）. */
  source: string;
  /** The official form a profile's units fill in instead: 《韶关市“数字政府”政务云资源申请表》（002 附件1）. */
  sourceByProfile?: Partial<Record<ProfileKey, string>>;
  description: string;
  /** What a profile's document tells its units about the form instead (徽州's 终止 after 下线, 001 第十六条). */
  descriptionByProfile?: Partial<Record<ProfileKey, string>>;
  sections: readonly Section[];
  /** Groups that are left out when every field in them is empty (a VM without backup, no planned totals). */
  optionalGroups?: readonly string[];
  /** The schema the input is checked by: the flow's own form, or the verb's input. */
  schema: z.ZodType;
}
