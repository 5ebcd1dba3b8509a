import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createWecomCrypto,
  type WecomCrypto,
  WecomCryptoError,
  wecomSignature,
} from "../src/channels/wecom/crypto";
import { buildWecomXml, parseWecomXml, WecomXmlError, xmlText } from "../src/channels/wecom/xml";

// Official vector set A, copied from reference/wecom.md §1.8.
const TOKEN = "QDG6eK";
const AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP_ID = "wx5823bf96d3bd56c7";
const AES_KEY_HEX = "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760"; // [derived] in §1.8

const A1 = {
  msg_signature: "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
  timestamp: "1409659589",
  nonce: "263014780",
  echostr: "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
  echostrOnWire:
    "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D",
  reply: "1616140317555161061",
};

const A2_ENCRYPT =
  "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
const A2 = {
  query: { msg_signature: "477715d11cdb4164915debcba66cb864d751f3e6", timestamp: "1409659813", nonce: "1372623149" },
  body: `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[${A2_ENCRYPT}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`,
  plaintext:
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>",
  random: "0960688932c47ef1",
};

const A4 = {
  msg_signature: "0623cbc5a8cbee5bcc137c70de99575366fc2af3",
  timestamp: "1409659813",
  nonce: "1372623149",
  encrypt:
    "CZWs4CWRpI4VolQlvn4dlEC1alN2MUEY2VklGehgBVLBrlVF7SyT+SV+Toj43l4ayJ9UMGKphktKKmP7B2j/P1ey67XB8PBgS7Wr5/8+w/yWriZv3Vmoo/MH3/1HsIWZrPQ3N2mJrelStIfI2Y8kLKXA7EhfZgZX4o+ffdkZDM76SEl79Ib9mw7TGjZ9Aw/x/A2VjNbV1E8BtEbRxYYcQippYNw7hr8sFfa3nW1xLdxokt8QkRX83vK3DFP2F6TQFPL2Tu98UwhcUpPvdJBuu1/yiOQIScppV3eOuLWEsko=",
  plaintext:
    '{"ToUserName":"wx5823bf96d3bd56c7","FromUserName":"mycreate","CreateTime": 1409659813,"MsgType":"text","Content":"hello","MsgId":4561255354251345929,"AgentID": 218}',
};

const wecom = createWecomCrypto({ token: TOKEN, encodingAesKey: AES_KEY, receiveId: CORP_ID });

/** Decrypts with the documented key bytes and no unpadding, independently of the module under test. */
function rawPlain(encrypt: string): Buffer {
  const key = Buffer.from(AES_KEY_HEX, "hex");
  const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([decipher.update(Buffer.from(encrypt, "base64")), decipher.final()]);
}
/** Encrypts raw plaintext bytes as given (no padding added), to craft malformed-but-decryptable inputs. */
function craft(...parts: (Buffer | string)[]): string {
  const key = Buffer.from(AES_KEY_HEX, "hex");
  const cipher = createCipheriv("aes-256-cbc", key, key.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString("base64");
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const padOf = (encrypt: string) => rawPlain(encrypt).readUInt8(rawPlain(encrypt).length - 1);

/** Runs fn and returns the WecomCryptoError code; fails the test if anything else is thrown or nothing is. */
function cryptoCode(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WecomCryptoError);
    return (err as WecomCryptoError).code;
  }
  throw new Error("expected a WecomCryptoError, nothing was thrown");
}

/** XORs one byte of the decoded ciphertext: CBC makes this flip the same bit of the next plaintext block. */
function flip(encrypt: string, index: number, mask: number): string {
  const bytes = Buffer.from(encrypt, "base64");
  const i = index < 0 ? bytes.length + index : index;
  bytes.writeUInt8(bytes.readUInt8(i) ^ mask, i);
  return bytes.toString("base64");
}

function openSealed(crypto: WecomCrypto, reply: string, timestamp: string, nonce: string): string {
  const doc = parseWecomXml(reply);
  const encrypted = xmlText(doc, "Encrypt")!;
  expect(xmlText(doc, "TimeStamp")).toBe(timestamp);
  expect(xmlText(doc, "Nonce")).toBe(nonce);
  expect(crypto.verifySignature(xmlText(doc, "MsgSignature")!, timestamp, nonce, encrypted)).toBe(true);
  return crypto.decrypt(encrypted);
}

describe("official vectors (set A)", () => {
  it("derives the documented AES key: raw decryption of A1 shows the documented layout", () => {
    const plain = rawPlain(A1.echostr);
    expect(plain.subarray(0, 16).toString("latin1")).toBe("c41b64491c2468d0");
    expect(plain.readUInt32BE(16)).toBe(19);
    expect(plain.readUInt8(plain.length - 1)).toBe(7);
  });

  it("signature sorts by UTF-8 byte order, not UTF-16 code units", () => {
    // "\uFF61" (EF BD A1) sorts before "😀" (F0 9F 98 80) by bytes, after it by UTF-16 (D83D…).
    const expected = createHash("sha1").update("1" + "2" + "\uFF61" + "😀").digest("hex");
    expect(wecomSignature("😀", "1", "\uFF61", "2")).toBe(expected);
  });

  it("A1: signature, URL verification, reply body", () => {
    expect(wecomSignature(TOKEN, A1.timestamp, A1.nonce, A1.echostr)).toBe(A1.msg_signature);
    expect(wecom.verifySignature(A1.msg_signature, A1.timestamp, A1.nonce, A1.echostr)).toBe(true);
    expect(wecom.verifyUrl(A1)).toBe(A1.reply);
  });

  it("A1: the on-the-wire echostr works when URL-decoded once and fails cleanly when decoded twice", () => {
    const wire = `msg_signature=${A1.msg_signature}&timestamp=${A1.timestamp}&nonce=${A1.nonce}&echostr=${A1.echostrOnWire}`;
    const once = new URLSearchParams(wire);
    const q = {
      msg_signature: once.get("msg_signature")!,
      timestamp: once.get("timestamp")!,
      nonce: once.get("nonce")!,
      echostr: once.get("echostr")!,
    };
    expect(q.echostr).toBe(A1.echostr);
    expect(wecom.verifyUrl(q)).toBe(A1.reply);

    const twice = new URLSearchParams(`echostr=${q.echostr}`).get("echostr")!;
    expect(twice).toContain(" "); // '+' became a space
    expect(cryptoCode(() => wecom.verifyUrl({ ...q, echostr: twice }))).toBe(-40001);
    expect(cryptoCode(() => wecom.decrypt(twice))).toBe(-40010);
  });

  it("A2: signature and envelope decrypt to the exact documented plaintext", () => {
    expect(wecomSignature(TOKEN, A2.query.timestamp, A2.query.nonce, A2_ENCRYPT)).toBe(A2.query.msg_signature);
    expect(wecom.openEnvelope(A2.query, A2.body)).toBe(A2.plaintext);
    expect(padOf(A2_ENCRYPT)).toBe(30);
    const inner = parseWecomXml(A2.plaintext);
    expect(inner).toEqual({
      ToUserName: CORP_ID,
      FromUserName: "mycreate",
      CreateTime: "1409659813",
      MsgType: "text",
      Content: "hello",
      MsgId: "4561255354251345929",
      AgentID: "218",
    });
  });

  it("A2: encrypting the plaintext with the documented random reproduces Encrypt byte for byte (pad 30)", () => {
    expect(wecom.encrypt(A2.plaintext, Buffer.from(A2.random))).toBe(A2_ENCRYPT);
    // The sealed reply of the same message, timestamp and nonce therefore carries the official signature.
    const reply = wecom.sealReply(A2.plaintext, A2.query.timestamp, A2.query.nonce, Buffer.from(A2.random));
    expect(xmlText(parseWecomXml(reply), "Encrypt")).toBe(A2_ENCRYPT);
    expect(xmlText(parseWecomXml(reply), "MsgSignature")).toBe(A2.query.msg_signature);
  });

  it("A4: the JSON variant decrypts to the documented plaintext (pad 22)", () => {
    expect(wecomSignature(TOKEN, A4.timestamp, A4.nonce, A4.encrypt)).toBe(A4.msg_signature);
    expect(wecom.decrypt(A4.encrypt)).toBe(A4.plaintext);
    expect(padOf(A4.encrypt)).toBe(22);
    expect(rawPlain(A4.encrypt).subarray(0, 16).toString("latin1")).toBe("EDH75AiKExevY8L3");
  });

  it("a leading XML declaration and whitespace in the envelope are accepted", () => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n${A2.body.replace("<Encrypt>", "\n  <Encrypt>")}\n`;
    expect(wecom.openEnvelope(A2.query, body)).toBe(A2.plaintext);
  });
});

describe("round trips", () => {
  it("sealReply → parse → verify signature → decrypt gives the message back, in the §1.6 shape", () => {
    const message = buildWecomXml({
      ToUserName: "zhangsan",
      FromUserName: CORP_ID,
      CreateTime: 1700000000,
      MsgType: "text",
      Content: "审批 123：已同意",
    });
    const reply = wecom.sealReply(message, "1409659813", "1372623149");
    expect(reply).toMatch(
      /^<xml><Encrypt><!\[CDATA\[[A-Za-z0-9+/=]+\]\]><\/Encrypt><MsgSignature><!\[CDATA\[[0-9a-f]{40}\]\]><\/MsgSignature><TimeStamp>1409659813<\/TimeStamp><Nonce><!\[CDATA\[1372623149\]\]><\/Nonce><\/xml>$/,
    );
    expect(openSealed(wecom, reply, "1409659813", "1372623149")).toBe(message);
  });

  it("a timestamp that is not a plain number stays a CDATA string, so the signed value is what is sent", () => {
    const reply = wecom.sealReply("x", "01409659813", "n");
    expect(reply).toContain("<TimeStamp><![CDATA[01409659813]]></TimeStamp>");
    expect(openSealed(wecom, reply, "01409659813", "n")).toBe("x");
  });

  it("default random prefixes differ between calls", () => {
    expect(wecom.encrypt("same")).not.toBe(wecom.encrypt("same"));
  });

  it("binary random prefixes (0x00, bytes ≥ 0x80) survive", () => {
    const randoms = [
      Buffer.from([0x00, 0x80, 0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x82, 0x00, 0xf0, 0x90, 0x8c, 0xbc, 0x00]),
      Buffer.alloc(16, 0x00),
      Buffer.alloc(16, 0xff),
      randomBytes(16),
    ];
    for (const random of randoms) {
      const encrypted = wecom.encrypt("hello", random);
      expect(rawPlain(encrypted).subarray(0, 16).equals(random)).toBe(true);
      expect(wecom.decrypt(encrypted)).toBe("hello");
    }
  });

  it("multibyte content: msg_len counts bytes", () => {
    for (const message of ["你好", "审批 ✅ 👍🏽 done", "𠮷".repeat(40), "\u0000\uFEFF leading BOM kept"]) {
      const encrypted = wecom.encrypt(message);
      expect(rawPlain(encrypted).readUInt32BE(16)).toBe(Buffer.byteLength(message, "utf8"));
      expect(wecom.decrypt(encrypted)).toBe(message);
    }
    expect(rawPlain(wecom.encrypt("你好")).readUInt32BE(16)).toBe(6);
  });

  it("messages of length 0..70 cover every pad value 1..32, including a full block of 32", () => {
    const pads = new Set<number>();
    for (let n = 0; n <= 70; n++) {
      const message = "m".repeat(n);
      const encrypted = wecom.encrypt(message);
      const plain = rawPlain(encrypted);
      expect(plain.length % 32).toBe(0);
      const pad = plain.readUInt8(plain.length - 1);
      expect(plain.subarray(plain.length - pad).every((b) => b === pad)).toBe(true);
      pads.add(pad);
      expect(wecom.decrypt(encrypted)).toBe(message);
    }
    expect([...pads].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    // 16 random + 4 length + 26 message + 18 corp id = 64 bytes: already aligned, so a whole block of 32 is added.
    const aligned = rawPlain(wecom.encrypt("m".repeat(26)));
    expect(aligned.length).toBe(96);
    expect(aligned.subarray(64).equals(Buffer.alloc(32, 32))).toBe(true);
  });

  it("an empty receiveId (AI-bot callbacks) works", () => {
    const bot = createWecomCrypto({ token: TOKEN, encodingAesKey: AES_KEY, receiveId: "" });
    expect(bot.decrypt(bot.encrypt("{}"))).toBe("{}");
    expect(cryptoCode(() => bot.decrypt(A4.encrypt))).toBe(-40005);
  });
});

describe("refusals", () => {
  it("rejects an EncodingAESKey that is not 43 characters of [A-Za-z0-9] (-40004)", () => {
    for (const encodingAesKey of ["", AES_KEY.slice(1), `${AES_KEY}A`, `${AES_KEY.slice(1)}+`, `${AES_KEY.slice(1)}=`]) {
      expect(cryptoCode(() => createWecomCrypto({ token: TOKEN, encodingAesKey, receiveId: CORP_ID }))).toBe(-40004);
    }
  });

  it("wrong signature (-40001); verifySignature is false on bad hex or length", () => {
    const wrong = { ...A1, msg_signature: "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4" };
    expect(cryptoCode(() => wecom.verifyUrl(wrong))).toBe(-40001);
    expect(cryptoCode(() => wecom.verifyUrl({ ...A1, timestamp: "1409659590" }))).toBe(-40001);
    expect(cryptoCode(() => wecom.openEnvelope({ ...A2.query, nonce: "1" }, A2.body))).toBe(-40001);
    const other = createWecomCrypto({ token: "other", encodingAesKey: AES_KEY, receiveId: CORP_ID });
    expect(cryptoCode(() => other.verifyUrl(A1))).toBe(-40001);

    const verify = (signature: string) => wecom.verifySignature(signature, A1.timestamp, A1.nonce, A1.echostr);
    expect(verify(A1.msg_signature.toUpperCase())).toBe(true); // hex case is not significant
    for (const bad of ["", A1.msg_signature.slice(0, 39), `${A1.msg_signature}0`, `${A1.msg_signature.slice(0, 39)}g`, ` ${A1.msg_signature.slice(1)}`]) {
      expect(verify(bad)).toBe(false);
    }
  });

  it("wrong receiveId / corp (-40005)", () => {
    const other = createWecomCrypto({ token: TOKEN, encodingAesKey: AES_KEY, receiveId: "wx5823bf96d3bd56c8" });
    expect(cryptoCode(() => other.verifyUrl(A1))).toBe(-40005);
    expect(cryptoCode(() => other.openEnvelope(A2.query, A2.body))).toBe(-40005);
    const prefix = createWecomCrypto({ token: TOKEN, encodingAesKey: AES_KEY, receiveId: "wx5823bf96d3bd56c" });
    expect(cryptoCode(() => prefix.decrypt(A2_ENCRYPT))).toBe(-40005);
  });

  it("a wrong AES key only ever throws WecomCryptoError", () => {
    const codes = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const encodingAesKey = randomBytes(33).toString("base64").replace(/[+/]/g, "A").slice(0, 43);
      const other = createWecomCrypto({ token: TOKEN, encodingAesKey, receiveId: CORP_ID });
      codes.add(cryptoCode(() => other.decrypt(A2_ENCRYPT)));
    }
    for (const code of codes) expect([-40005, -40007, -40008]).toContain(code);
    const fixed = createWecomCrypto({ token: TOKEN, encodingAesKey: `${AES_KEY.slice(0, 42)}D`, receiveId: CORP_ID });
    expect(fixed.decrypt(A2_ENCRYPT)).toBe(A2.plaintext); // the 43rd character's two low bits are not key bits
    const changed = createWecomCrypto({ token: TOKEN, encodingAesKey: `k${AES_KEY.slice(1)}`, receiveId: CORP_ID });
    expect(cryptoCode(() => changed.decrypt(A2_ENCRYPT))).toBe(-40007);
  });

  it("random ciphertexts only ever throw WecomCryptoError", () => {
    for (let i = 0; i < 300; i++) {
      const bytes = randomBytes(32 * (1 + (i % 4)));
      expect([-40005, -40007, -40008]).toContain(cryptoCode(() => wecom.decrypt(bytes.toString("base64"))));
    }
  });

  it("broken base64 (-40010)", () => {
    for (const bad of [
      `${A2_ENCRYPT.slice(0, 10)}*${A2_ENCRYPT.slice(11)}`,
      A2_ENCRYPT.slice(0, -1),
      `${A2_ENCRYPT} `,
      `\n${A2_ENCRYPT}`,
      A2_ENCRYPT.replace(/\+/g, "-").replace(/\//g, "_"), // base64url is not accepted
      A2_ENCRYPT.replace("==", "=A"),
      "====",
    ]) {
      expect(cryptoCode(() => wecom.decrypt(bad))).toBe(-40010);
    }
  });

  it("empty, truncated or misaligned ciphertext (-40007)", () => {
    expect(cryptoCode(() => wecom.decrypt(""))).toBe(-40007);
    const bytes = Buffer.from(A2_ENCRYPT, "base64");
    for (const cut of [1, 15, 16, 17, 32, bytes.length - 16, bytes.length - 1]) {
      expect(cryptoCode(() => wecom.decrypt(bytes.subarray(0, cut).toString("base64")))).toBe(-40007);
    }
    expect(cryptoCode(() => wecom.verifyUrl({ ...A1, echostr: "", msg_signature: wecomSignature(TOKEN, A1.timestamp, A1.nonce, "") }))).toBe(-40007);
  });

  it("tampered last block: bad padding (-40007), with every pad byte checked", () => {
    // The last block garbled: padding no longer parses.
    expect(cryptoCode(() => wecom.decrypt(flip(A2_ENCRYPT, -1, 0x01)))).toBe(-40007);
    // Penultimate-block flips change the last plaintext byte (pad = 30) precisely.
    expect(cryptoCode(() => wecom.decrypt(flip(A2_ENCRYPT, -17, 30 ^ 0)))).toBe(-40007); // pad 0
    expect(cryptoCode(() => wecom.decrypt(flip(A2_ENCRYPT, -17, 30 ^ 33)))).toBe(-40007); // pad 33 > 32
    expect(cryptoCode(() => wecom.decrypt(flip(A2_ENCRYPT, -17, 30 ^ 31)))).toBe(-40007); // pad 31: byte 31 is 30
    expect(cryptoCode(() => wecom.decrypt(flip(A2_ENCRYPT, -18, 0x01)))).toBe(-40007); // one inner pad byte wrong
    // pad 1 is well-formed padding, but then 29 bytes of 0x1e trail the corp id.
    expect(cryptoCode(() => wecom.decrypt(flip(A2_ENCRYPT, -17, 30 ^ 1)))).toBe(-40005);
  });

  it("crafted plaintexts: the layout is checked field by field", () => {
    const random = Buffer.alloc(16, 7);
    const framed = (msg: Buffer, corp = CORP_ID) => {
      const length = 16 + 4 + msg.length + Buffer.byteLength(corp);
      const pad = 32 - (length % 32);
      return [random, u32(msg.length), msg, corp, Buffer.alloc(pad, pad)];
    };
    expect(wecom.decrypt(craft(...framed(Buffer.from("ok"))))).toBe("ok"); // the crafting itself is sound
    // A 33-byte run of 0x21 is consistent PKCS#7 in form, but pad may not exceed the block of 32.
    expect(cryptoCode(() => wecom.decrypt(craft(Buffer.alloc(31, 0x41), Buffer.alloc(33, 33))))).toBe(-40007);
    expect(cryptoCode(() => wecom.decrypt(craft(Buffer.alloc(63, 0x41), Buffer.alloc(1, 0))))).toBe(-40007);
    // 48 bytes is whole AES blocks with valid-looking padding, but not a multiple of the 32-byte pad block.
    const msg = Buffer.from("x");
    const unaligned = [random, u32(1), msg, CORP_ID, Buffer.alloc(9, 9)];
    expect(Buffer.concat(unaligned.map((p) => Buffer.from(p))).length).toBe(48);
    expect(cryptoCode(() => wecom.decrypt(craft(...unaligned)))).toBe(-40007);
    // Too short for random + length once the padding is gone.
    expect(cryptoCode(() => wecom.decrypt(craft(Buffer.alloc(13, 0x41), Buffer.alloc(19, 19))))).toBe(-40008);
    // msg_len pointing past the end.
    expect(cryptoCode(() => wecom.decrypt(craft(random, u32(0xffffffff), Buffer.alloc(12, 12))))).toBe(-40008);
    // Invalid UTF-8 in the message is refused rather than turned into U+FFFD.
    expect(cryptoCode(() => wecom.decrypt(craft(...framed(Buffer.from([0xc3, 0x28])))))).toBe(-40008);
    expect(cryptoCode(() => wecom.decrypt(craft(...framed(Buffer.from("ok"), "wx5823bf96d3bd56c7 ")))))
      .toBe(-40005);
  });

  it("a tampered length field (-40008 if it overruns, -40005 if the corp id no longer lines up)", () => {
    // Ciphertext byte 0..3 flips plaintext bytes 16..19, the big-endian msg_len (284).
    expect(cryptoCode(() => wecom.decrypt(flip(A2_ENCRYPT, 0, 0x01)))).toBe(-40008);
    expect(cryptoCode(() => wecom.decrypt(flip(A2_ENCRYPT, 3, 0x01)))).toBe(-40005);
  });

  it("random prefix must be exactly 16 bytes (-40006)", () => {
    expect(cryptoCode(() => wecom.encrypt("x", Buffer.alloc(15)))).toBe(-40006);
    expect(cryptoCode(() => wecom.encrypt("x", Buffer.alloc(17)))).toBe(-40006);
    expect(cryptoCode(() => wecom.sealReply("x", "1", "2", Buffer.alloc(0)))).toBe(-40006);
  });

  it("bad envelopes (-40002): non-XML, no Encrypt, empty Encrypt, DOCTYPE, huge body", () => {
    const open = (body: string) => cryptoCode(() => wecom.openEnvelope(A2.query, body));
    expect(open("")).toBe(-40002);
    expect(open("hello")).toBe(-40002);
    expect(open(JSON.stringify({ encrypt: A2_ENCRYPT }))).toBe(-40002);
    expect(open(A2.body.slice(0, -6))).toBe(-40002);
    expect(open("<xml><ToUserName><![CDATA[x]]></ToUserName></xml>")).toBe(-40002);
    expect(open("<xml><Encrypt></Encrypt></xml>")).toBe(-40002);
    expect(open(`<xml><Encrypt><Inner>${A2_ENCRYPT}</Inner></Encrypt></xml>`)).toBe(-40002);
    expect(open(`<xml><Encrypt>${A2_ENCRYPT}</Encrypt><Encrypt>${A2_ENCRYPT}</Encrypt></xml>`)).toBe(-40002);
    expect(open(`<!DOCTYPE xml [<!ENTITY e "x">]>${A2.body}`)).toBe(-40002);
    expect(open(A2.body.replace("</xml>", `<Pad><![CDATA[${"x".repeat(70_000)}]]></Pad></xml>`))).toBe(-40002);
  });
});

describe("WeCom XML", () => {
  const TEMPLATE_CARD_EVENT = `<xml>
<ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[FromUser]]></FromUserName>
<CreateTime>123456789</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[template_card_event]]></Event>
<EventKey><![CDATA[key111]]></EventKey>
<TaskId><![CDATA[taskid111]]></TaskId>
<CardType><![CDATA[text_notice]]></CardType>
<ResponseCode><![CDATA[ResponseCode]]></ResponseCode>
<AgentID>1</AgentID>
<SelectedItems>
    <SelectedItem>
        <QuestionKey><![CDATA[QuestionKey1]]></QuestionKey>
        <OptionIds>
            <OptionId><![CDATA[OptionId1]]></OptionId>
            <OptionId><![CDATA[OptionId2]]></OptionId>
        </OptionIds>
    </SelectedItem>
    <SelectedItem>
        <QuestionKey><![CDATA[QuestionKey2]]></QuestionKey>
        <OptionIds>
            <OptionId><![CDATA[OptionId3]]></OptionId>
            <OptionId><![CDATA[OptionId4]]></OptionId>
        </OptionIds>
    </SelectedItem>
</SelectedItems>
</xml>`;

  const TEXT_MESSAGE = `<xml>
  <ToUserName><![CDATA[CORPID]]></ToUserName>
  <FromUserName><![CDATA[USERID]]></FromUserName>
  <CreateTime>1409659813</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[查询 123]]></Content>
  <MsgId>4561255354251345929</MsgId>
  <AgentID>1000002</AgentID>
</xml>`;

  const xmlError = (text: string) => {
    try {
      parseWecomXml(text);
    } catch (err) {
      expect(err).toBeInstanceOf(WecomXmlError);
      return (err as Error).message;
    }
    throw new Error("expected a WecomXmlError");
  };

  it("parses the §2.3 template_card_event, nested repeated elements as arrays", () => {
    const doc = parseWecomXml(TEMPLATE_CARD_EVENT);
    expect(xmlText(doc, "Event")).toBe("template_card_event");
    expect(xmlText(doc, "EventKey")).toBe("key111");
    expect(xmlText(doc, "TaskId")).toBe("taskid111");
    expect(xmlText(doc, "ResponseCode")).toBe("ResponseCode");
    expect(xmlText(doc, "AgentID")).toBe("1");
    expect(xmlText(doc, "SelectedItems")).toBeUndefined(); // not a leaf
    expect(doc.SelectedItems).toEqual({
      SelectedItem: [
        { QuestionKey: "QuestionKey1", OptionIds: { OptionId: ["OptionId1", "OptionId2"] } },
        { QuestionKey: "QuestionKey2", OptionIds: { OptionId: ["OptionId3", "OptionId4"] } },
      ],
    });
  });

  it("a single repeated-kind child stays a plain value", () => {
    const doc = parseWecomXml(
      "<xml><SelectedItems><SelectedItem><QuestionKey>q</QuestionKey><OptionIds><OptionId>o</OptionId></OptionIds></SelectedItem></SelectedItems></xml>",
    );
    expect(doc.SelectedItems).toEqual({ SelectedItem: { QuestionKey: "q", OptionIds: { OptionId: "o" } } });
  });

  it("parses the §4 text message; MsgId stays a string", () => {
    const doc = parseWecomXml(TEXT_MESSAGE);
    expect(doc).toEqual({
      ToUserName: "CORPID",
      FromUserName: "USERID",
      CreateTime: "1409659813",
      MsgType: "text",
      Content: "查询 123",
      MsgId: "4561255354251345929",
      AgentID: "1000002",
    });
    expect(xmlText(doc, "Missing")).toBeUndefined();
    expect(xmlText(doc, "toString")).toBeUndefined();
  });

  it("leaf text: entities and character references decoded outside CDATA, CDATA sections concatenated verbatim", () => {
    const doc = parseWecomXml(
      "<xml><A>a &lt; b &amp;&amp; c &gt; d &quot;x&quot; &apos;y&apos; &#20320;&#x597D;&#x1F600;</A>" +
        "<B><![CDATA[&lt;<b>]]></B><C>x<![CDATA[y]]>z<![CDATA[]]]]><![CDATA[>]]></C><D>  spaced \n</D><E/><F></F></xml>",
    );
    expect(doc).toEqual({ A: "a < b && c > d \"x\" 'y' 你好😀", B: "&lt;<b>", C: "xyz]]>", D: "  spaced \n", E: "", F: "" });
    for (const bad of ["&nbsp;", "& ", "&#0;", "&#xD800;", "&#x110000;", "&lt"]) {
      expect(xmlError(`<xml><A>${bad}</A></xml>`)).toMatch(/entity|reference|&/);
    }
  });

  it("comments, attributes and a leading declaration are tolerated; duplicate names become arrays", () => {
    const doc = parseWecomXml(
      `\uFEFF<?xml version="1.0"?>\n<!-- c --><xml a="1" b='>'><!-- inner --><K>1</K><K>2</K><K>3</K><toString>t</toString></xml><!-- end -->\n`,
    );
    expect(doc).toEqual({ K: ["1", "2", "3"], toString: "t" });
    expect(parseWecomXml("<xml/>")).toEqual({});
    expect(parseWecomXml("<xml>\n</xml>")).toEqual({});
  });

  it("buildWecomXml: CDATA strings, plain numbers, nesting, arrays, key order", () => {
    const xml = buildWecomXml({
      ToUserName: "USERID",
      FromUserName: "CORPID",
      CreateTime: 1700000000,
      MsgType: "update_button",
      Button: { ReplaceName: "已同意" },
      List: [{ Id: 1 }, { Id: 2n }],
      Optional: undefined,
    });
    expect(xml).toBe(
      "<xml><ToUserName><![CDATA[USERID]]></ToUserName><FromUserName><![CDATA[CORPID]]></FromUserName>" +
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[update_button]]></MsgType>" +
        "<Button><ReplaceName><![CDATA[已同意]]></ReplaceName></Button><List><Id>1</Id></List><List><Id>2</Id></List></xml>",
    );
    expect(parseWecomXml(xml)).toEqual({
      ToUserName: "USERID",
      FromUserName: "CORPID",
      CreateTime: "1700000000",
      MsgType: "update_button",
      Button: { ReplaceName: "已同意" },
      List: [{ Id: "1" }, { Id: "2" }],
    });
    for (const bad of [{ "a b": "x" }, { "<x>": "x" }, { A: null }, { A: true }, { A: Number.NaN }, { "": "x" }]) {
      expect(() => buildWecomXml(bad)).toThrow(WecomXmlError);
    }
  });

  it("strings containing ]]> (and other awkward text) round-trip through build and parse", () => {
    for (const s of ["]]>", "a]]>b", "]]]]>>", "]]>]]>", "]", "]]", "<![CDATA[x]]>", "&amp; <b>", "", " \n ", "你好 👍"]) {
      expect(parseWecomXml(buildWecomXml({ Content: s })).Content ?? "").toBe(s);
    }
  });

  it("rejects DOCTYPE, ENTITY and processing instructions", () => {
    const billionLaughs = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><A>&lol2;</A></xml>`;
    expect(xmlError(billionLaughs)).toMatch(/DOCTYPE/);
    expect(xmlError(`<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml/>`)).toMatch(/DOCTYPE/);
    expect(xmlError(`<xml><!ENTITY e "x"><A>1</A></xml>`)).toMatch(/ENTITY/);
    expect(xmlError(`<xml><A><!DOCTYPE x></A></xml>`)).toMatch(/DOCTYPE/);
    expect(xmlError(`<xml/><!DOCTYPE x>`)).toMatch(/DOCTYPE/);
    expect(xmlError(`<?xml-stylesheet href="a"?><xml/>`)).toMatch(/processing instruction/);
    expect(xmlError(`<xml><?php echo 1 ?></xml>`)).toMatch(/processing instruction/);
    expect(xmlError(`<xml/><?xml version="1.0"?>`)).toMatch(/processing instruction/);
  });

  it("rejects malformed documents", () => {
    expect(xmlError("")).toMatch(/expected an element/);
    expect(xmlError("<xml><A>1</A>")).toMatch(/unclosed <xml>/);
    expect(xmlError("<xml><A>1</B></xml>")).toMatch(/mismatched <\/B>, expected <\/A>/);
    expect(xmlError("<xml><A>1</xml>")).toMatch(/mismatched/);
    expect(xmlError("<xml><A><![CDATA[1</A></xml>")).toMatch(/unclosed CDATA/);
    expect(xmlError("<xml><A>1</A ></xml>junk")).toMatch(/after <\/xml>/);
    expect(xmlError("<xml/><xml/>")).toMatch(/after <\/xml>/);
    expect(xmlError("<root><A>1</A></root>")).toMatch(/not <xml>/);
    expect(xmlError("<xml>text</xml>")).toMatch(/holds text/);
    expect(xmlError("<xml><A>x<B>1</B></A></xml>")).toMatch(/mixed/);
    expect(xmlError("<xml><A><![CDATA[x]]><B>1</B></A></xml>")).toMatch(/mixed/);
    expect(xmlError("<xml><A><![CDATA[ ]]><B>1</B></A></xml>")).toMatch(/mixed/); // CDATA is content, never formatting
    expect(xmlError("<xml><A 1</A></xml>")).toMatch(/expected an element/);
    expect(xmlError("<xml><__proto__>x</__proto__></xml>")).toMatch(/illegal element name/);
    expect(xmlError("<xml><A></a></xml>")).toMatch(/mismatched/);
  });

  it("limits: depth 8, 500 elements, 64 KiB", () => {
    const nest = (depth: number) => `<xml>${"<N>".repeat(depth - 1)}x${"</N>".repeat(depth - 1)}</xml>`;
    expect(() => parseWecomXml(nest(8))).not.toThrow();
    expect(xmlError(nest(9))).toMatch(/nesting deeper than 8/);
    expect(xmlError(nest(5000))).toMatch(/nesting deeper than 8/);

    const many = (n: number) => `<xml>${"<E>1</E>".repeat(n)}</xml>`;
    expect((parseWecomXml(many(499)).E as string[]).length).toBe(499);
    expect(xmlError(many(500))).toMatch(/more than 500 elements/);

    const sized = (bytes: number) => `<xml><A>${"x".repeat(bytes - "<xml><A></A></xml>".length)}</A></xml>`;
    expect(parseWecomXml(sized(64 * 1024)).A).toHaveLength(64 * 1024 - 18);
    expect(xmlError(sized(64 * 1024 + 1))).toMatch(/64 KiB/);
    // The limit is in UTF-8 bytes: 25,000 characters of 3 bytes each are over it.
    expect(xmlError(`<xml><A>${"你".repeat(25_000)}</A></xml>`)).toMatch(/64 KiB/);
  });
});
