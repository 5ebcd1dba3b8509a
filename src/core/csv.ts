// CSV as Excel reads it: UTF-8 with a byte order mark (or Chinese text shows garbled), RFC 4180 quoting.

export const BOM = "\uFEFF";

/** A field with a comma, quote or line break is quoted, quotes doubled; objects as JSON. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRow(values: unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

/** A whole file: the BOM, then the records. */
export function csvDocument(rows: unknown[][]): string {
  return BOM + rows.map(csvRow).join("");
}

/** The headers of a CSV download, so the browser saves it under `filename` rather than showing it. */
export function csvHeaders(filename: string): Record<string, string> {
  return { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${filename}"` };
}
