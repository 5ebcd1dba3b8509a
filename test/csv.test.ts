import { describe, expect, test } from "vitest";
import { BOM, CsvDecimal, csvDocument, csvRow } from "../src/core/csv";

// OWASP "CSV Injection": a cell starting with = + - @, a tab or a carriage return is read by Excel as a formula.
describe("CSV cells", () => {
  test("text that would start a formula gets a leading quote, and is then quoted as any other field", () => {
    expect(csvRow(["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\r=1"])).toBe(`'=1+1,'+86 138,'-2,'@SUM(A1),'\tx,"'\r=1"\r\n`);
    expect(csvRow(['=HYPERLINK("http://x","点我")'])).toBe(`"'=HYPERLINK(""http://x"",""点我"")"\r\n`);
  });

  test("text with those characters further in, or none at all, is left alone", () => {
    expect(csvRow(["a=b", "2026-11-01", "梅州-梅县", " =1", "", "'=1"])).toBe("a=b,2026-11-01,梅州-梅县, =1,,'=1\r\n");
  });

  test("numbers stay numbers, negative ones too: the choice is by type, not by the text", () => {
    expect(csvRow([-3, -0.5, 12, 10n, new CsvDecimal(-136, 2), new CsvDecimal(136, 2)])).toBe("-3,-0.5,12,10,-136.00,136.00\r\n");
    expect(csvRow(["-3"])).toBe("'-3\r\n");
  });

  test("null and undefined are empty; objects are JSON, quoted; the document starts with a BOM", () => {
    expect(csvRow([null, undefined, { a: "=1", b: [1, 2] }, true])).toBe(`,,"{""a"":""=1"",""b"":[1,2]}",true\r\n`);
    expect(csvDocument([["h"], ["=x"]])).toBe(`${BOM}h\r\n'=x\r\n`);
  });
});
