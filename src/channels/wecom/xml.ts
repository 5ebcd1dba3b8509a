// The small XML dialect WeCom speaks: one <xml> root, leaf elements holding text or CDATA, a few nested
// lists (SelectedItems/SelectedItem/OptionIds/OptionId). A hand-written parser keeps the attack surface
// small: no DTDs, no entity expansion beyond the five predefined ones, and hard limits on size, depth and
// element count, because the envelope arrives before the signature has been checked.

export class WecomXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WecomXmlError";
  }
}

export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] };
type XmlObject = { [name: string]: XmlNode | XmlNode[] };

const MAX_BYTES = 64 * 1024;
const MAX_DEPTH = 8; // the root <xml> counts as depth 1
const MAX_ELEMENTS = 500;

const NAME = "[A-Za-z_][A-Za-z0-9_.:-]*";
// Attributes are tolerated (and dropped): WeCom sends none, but their presence is not an attack.
const OPEN_TAG = new RegExp(`<(${NAME})(?:\\s+[^\\s=/>]+\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*\\s*(/?)>`, "y");
const CLOSE_TAG = new RegExp(`</(${NAME})\\s*>`, "y");
const XML_DECL = /<\?xml[\s?][^]*?\?>/y;
const BLANK = /^[ \t\r\n]*$/;
const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function fail(message: string): never {
  throw new WecomXmlError(message);
}

/** Characters allowed by XML 1.0 (§2.2); a character reference to anything else is an error. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function decodeText(raw: string): string {
  if (!raw.includes("&")) return raw;
  // The bare "&" alternative catches an ampersand that does not start a well-formed reference.
  return raw.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z]{1,8});|&/g, (_m, ref: string | undefined) => {
    if (ref === undefined) return fail("unescaped '&' in text");
    if (!ref.startsWith("#")) return NAMED_ENTITIES[ref] ?? fail(`unknown entity &${ref};`);
    const cp = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return isXmlChar(cp) ? String.fromCodePoint(cp) : fail(`invalid character reference &${ref};`);
  });
}

/** Adds a child; a second child of the same name turns the entry into an array. */
function addChild(parent: XmlObject, name: string, value: XmlNode): void {
  if (!Object.hasOwn(parent, name)) parent[name] = value;
  else {
    const existing = parent[name]!;
    if (Array.isArray(existing)) existing.push(value);
    else parent[name] = [existing, value];
  }
}

/**
 * Parses WeCom's XML into a tree: leaf → string; element with children → object; repeated child names →
 * array. Whitespace-only text between elements is ignored. Throws WecomXmlError on anything outside the
 * dialect (DOCTYPE/ENTITY, processing instructions other than a leading <?xml …?>, mismatched tags) and on
 * input over 64 KiB, nesting deeper than 8 or more than 500 elements.
 */
export function parseWecomXml(text: string): Record<string, XmlNode | XmlNode[]> {
  if (typeof text !== "string") fail("input is not a string");
  // text.length bounds the UTF-8 size from below, so the byte count is only computed when it matters.
  if (text.length > MAX_BYTES || Buffer.byteLength(text, "utf8") > MAX_BYTES) fail("input exceeds 64 KiB");
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let elements = 0;

  const at = (s: string) => text.startsWith(s, pos);

  // Whitespace and comments are allowed around the root element.
  const skipMisc = () => {
    for (;;) {
      while (pos < text.length && " \t\r\n".includes(text[pos]!)) pos++;
      if (!at("<!--")) return;
      const end = text.indexOf("-->", pos + 4);
      if (end < 0) fail("unclosed comment");
      pos = end + 3;
    }
  };

  // Rejects markup the dialect never uses; called wherever a "<" might start something other than a tag.
  const rejectDeclarations = () => {
    if (at("<!")) fail("DOCTYPE, ENTITY and other declarations are not allowed");
    if (at("<?")) fail("processing instructions are not allowed");
  };

  const parseElement = (depth: number): [string, XmlNode] => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    if (++elements > MAX_ELEMENTS) fail(`more than ${MAX_ELEMENTS} elements`);
    rejectDeclarations();
    OPEN_TAG.lastIndex = pos;
    const open = OPEN_TAG.exec(text);
    if (!open) fail(`expected an element at offset ${pos}`);
    const name = open[1]!;
    if (name === "__proto__") fail("illegal element name");
    pos = OPEN_TAG.lastIndex;
    if (open[2]) return [name, ""]; // <Name/>

    let content = "";
    let sawCdata = false;
    let children: XmlObject | undefined;
    for (;;) {
      const lt = text.indexOf("<", pos);
      if (lt < 0) fail(`unclosed <${name}>`);
      content += decodeText(text.slice(pos, lt));
      pos = lt;
      if (at("</")) {
        CLOSE_TAG.lastIndex = pos;
        const close = CLOSE_TAG.exec(text);
        if (!close) fail(`malformed closing tag at offset ${pos}`);
        if (close[1] !== name) fail(`mismatched </${close[1]}>, expected </${name}>`);
        pos = CLOSE_TAG.lastIndex;
        break;
      }
      if (at("<![CDATA[")) {
        // Several CDATA sections in a row concatenate; that is how "]]>" itself gets transported.
        const end = text.indexOf("]]>", pos + 9);
        if (end < 0) fail("unclosed CDATA section");
        content += text.slice(pos + 9, end);
        sawCdata = true;
        pos = end + 3;
      } else if (at("<!--")) {
        const end = text.indexOf("-->", pos + 4);
        if (end < 0) fail("unclosed comment");
        pos = end + 3;
      } else {
        const [childName, value] = parseElement(depth + 1);
        addChild((children ??= {}), childName, value);
      }
    }
    if (!children) return [name, content];
    if (sawCdata || !BLANK.test(content)) fail(`text mixed with elements in <${name}>`);
    return [name, children];
  };

  skipMisc();
  XML_DECL.lastIndex = pos;
  if (XML_DECL.test(text)) pos = XML_DECL.lastIndex;
  skipMisc();
  const [rootName, root] = parseElement(1);
  if (rootName !== "xml") fail("root element is not <xml>");
  skipMisc();
  if (pos < text.length) {
    rejectDeclarations();
    fail("unexpected content after </xml>");
  }
  if (typeof root === "string") return BLANK.test(root) ? {} : fail("root element holds text, not elements");
  return root;
}

/** A top-level leaf as a string; undefined if absent or not a leaf (an object or a repeated element). */
export function xmlText(doc: Record<string, XmlNode | XmlNode[]>, name: string): string | undefined {
  const value = Object.hasOwn(doc, name) ? doc[name] : undefined;
  return typeof value === "string" ? value : undefined;
}

// "]]>" cannot occur inside CDATA, so it is split across two sections: "]]" ends one, ">" starts the next.
const cdata = (s: string) => `<![CDATA[${s.replaceAll("]]>", "]]]]><![CDATA[>")}]]>`;
const NAME_RE = new RegExp(`^${NAME}$`);

function buildElement(name: string, value: unknown): string {
  if (value === undefined) return ""; // optional fields are simply left out, like JSON.stringify does
  if (Array.isArray(value)) return value.map((v) => buildElement(name, v)).join("");
  if (!NAME_RE.test(name) || name === "__proto__") fail(`invalid element name ${JSON.stringify(name)}`);
  let inner: string;
  if (typeof value === "string") inner = cdata(value);
  else if (typeof value === "number" && Number.isFinite(value)) inner = String(value);
  else if (typeof value === "bigint") inner = value.toString(); // MsgId is a 64-bit integer
  else if (typeof value === "object" && value !== null) inner = buildChildren(value as Record<string, unknown>);
  else return fail(`cannot serialize <${name}> of type ${value === null ? "null" : typeof value}`);
  return `<${name}>${inner}</${name}>`;
}

function buildChildren(fields: Record<string, unknown>): string {
  return Object.entries(fields).map(([name, value]) => buildElement(name, value)).join("");
}

/**
 * Builds `<xml>…</xml>`: strings as CDATA, finite numbers and bigints as plain text, objects as nested
 * elements, arrays as repeated elements, undefined left out. Key order is preserved.
 */
export function buildWecomXml(fields: Record<string, unknown>): string {
  return `<xml>${buildChildren(fields)}</xml>`;
}
