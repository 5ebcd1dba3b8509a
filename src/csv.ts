// CSV as Excel reads it: UTF-8 with a byte order mark (or Chinese text shows garbled), RFC 4180 quoting.

export const BOM = "\uFEFF";

/** A field with a comma, quote or line break is quoted, quotes doubled; objects as JSON. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRow(values: unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
