// CSV as Excel reads it: UTF-8 with a byte order mark (or Chinese text shows garbled), RFC 4180 quoting.

export const BOM = "\uFEFF";

/** A number written with a fixed count of decimals (amounts in yuan: 136.00), still a number to the CSV. */
export class CsvDecimal {
  constructor(
    readonly value: number,
    readonly digits: number,
  ) {}
}

// A cell Excel or LibreOffice would read as a formula (OWASP "CSV Injection"): = + - @, or a tab or carriage
// return before one.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A field as text: numbers as they are, other text with a leading `'` when it would start a formula (a rating
 * comment `=HYPERLINK(…)` stays text; a negative number stays a number, since the choice is by type), quoted
 * when it holds a comma, quote or line break, quotes doubled; objects as JSON.
 */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value instanceof CsvDecimal) return value.value.toFixed(value.digits);
  const raw = typeof value === "object" ? JSON.stringify(value) : String(value);
  const text = FORMULA_START.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

/** A whole file: the BOM, then the records. */
export function csvDocument(rows: readonly (readonly unknown[])[]): string {
  return BOM + rows.map(csvRow).join("");
}

/** The headers of a CSV download, so the browser saves it under `filename` rather than showing it. */
export function csvHeaders(filename: string): Record<string, string> {
  return { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${filename}"` };
}
