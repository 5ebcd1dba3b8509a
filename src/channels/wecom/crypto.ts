// WeCom callback encryption (WXBizMsgCrypt), reference/wecom.md §1. Layout of the plaintext:
//   random(16) | msg_len (uint32 BE, bytes) | msg (UTF-8) | receiveId
// padded with PKCS#7 to a multiple of 32 (not 16), AES-256-CBC with iv = key[0..16], then base64.
// Every failure is a WecomCryptoError carrying the official error number, so callers have one thing to catch.

import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { buildWecomXml, parseWecomXml, xmlText } from "./xml";

// Official numbers (sbzhu/weworkapi_golang wxbizmsgcrypt.go).
const VALIDATE_SIGNATURE = -40001;
const PARSE_XML = -40002;
const ILLEGAL_AES_KEY = -40004;
const VALIDATE_RECEIVE_ID = -40005;
const ENCRYPT_AES = -40006;
const DECRYPT_AES = -40007;
const ILLEGAL_BUFFER = -40008;
const DECODE_BASE64 = -40010;

const PAD_BLOCK = 32;
const RANDOM_BYTES = 16;
const HEADER_BYTES = RANDOM_BYTES + 4;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SIGNATURE_HEX = /^[0-9A-Fa-f]{40}$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class WecomCryptoError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "WecomCryptoError";
  }
}

/** sha1 hex over the four strings sorted by UTF-8 byte order and joined without separator (§1.2). */
export function wecomSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  const parts = [token, timestamp, nonce, encrypt].map((s) => Buffer.from(s, "utf8")).sort(Buffer.compare);
  return createHash("sha1").update(Buffer.concat(parts)).digest("hex");
}

export interface WecomCryptoConfig {
  token: string;
  encodingAesKey: string;
  receiveId: string;
}

export interface WecomCrypto {
  /** Constant-time compare; false on a length mismatch or a non-hex signature. */
  verifySignature(signature: string, timestamp: string, nonce: string, encrypt: string): boolean;
  /** Base64 ciphertext → msg. Throws only WecomCryptoError (-40005/-40007/-40008/-40010). */
  decrypt(encrypt: string): string;
  /** msg → base64 ciphertext; random defaults to 16 bytes from randomBytes and must be exactly 16 bytes. */
  encrypt(message: string, random?: Buffer): string;
  /** URL verification (GET): echostr already URL-decoded once. Returns the msg to echo; -40001 on a bad signature. */
  verifyUrl(q: { msg_signature: string; timestamp: string; nonce: string; echostr: string }): string;
  /** POST: <Encrypt> from the XML envelope, signature checked, decrypted XML returned; -40002 on a bad envelope. */
  openEnvelope(q: { msg_signature: string; timestamp: string; nonce: string }, body: string): string;
  /** Encrypts a reply and wraps it in the §1.6 envelope (Encrypt, MsgSignature, TimeStamp, Nonce). */
  sealReply(message: string, timestamp: string, nonce: string, random?: Buffer): string;
}

export function createWecomCrypto(config: WecomCryptoConfig): WecomCrypto {
  const { token, encodingAesKey, receiveId } = config;
  if (typeof encodingAesKey !== "string" || !/^[A-Za-z0-9]{43}$/.test(encodingAesKey)) {
    throw new WecomCryptoError(ILLEGAL_AES_KEY, "EncodingAESKey must be 43 characters from [A-Za-z0-9]");
  }
  const key = Buffer.from(`${encodingAesKey}=`, "base64"); // 32 bytes: AES-256
  const iv = key.subarray(0, 16);
  const receiveIdBytes = Buffer.from(receiveId, "utf8");

  const verifySignature: WecomCrypto["verifySignature"] = (signature, timestamp, nonce, encrypt) => {
    if (typeof signature !== "string" || !SIGNATURE_HEX.test(signature)) return false;
    if ([timestamp, nonce, encrypt].some((s) => typeof s !== "string")) return false;
    const expected = Buffer.from(wecomSignature(token, timestamp, nonce, encrypt), "hex");
    return timingSafeEqual(Buffer.from(signature, "hex"), expected);
  };

  const decrypt = (encrypt: string): string => {
    if (typeof encrypt !== "string" || !BASE64.test(encrypt)) {
      throw new WecomCryptoError(DECODE_BASE64, "ciphertext is not valid base64");
    }
    const ciphertext = Buffer.from(encrypt, "base64");
    // Padding to 32 means every genuine ciphertext is a non-empty multiple of 32 bytes.
    if (ciphertext.length === 0 || ciphertext.length % PAD_BLOCK !== 0) {
      throw new WecomCryptoError(DECRYPT_AES, `ciphertext length ${ciphertext.length} is not a multiple of 32`);
    }
    let plain: Buffer;
    try {
      const decipher = createDecipheriv("aes-256-cbc", key, iv).setAutoPadding(false);
      plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new WecomCryptoError(DECRYPT_AES, "AES decryption failed");
    }
    // PKCS#7 with block 32: last byte is 1..32 and so are all the pad bytes. A wrong key lands here.
    const pad = plain.readUInt8(plain.length - 1);
    if (pad < 1 || pad > PAD_BLOCK || plain.subarray(plain.length - pad).some((b) => b !== pad)) {
      throw new WecomCryptoError(DECRYPT_AES, "bad padding (wrong key or corrupted ciphertext)");
    }
    const body = plain.subarray(0, plain.length - pad);
    if (body.length < HEADER_BYTES) throw new WecomCryptoError(ILLEGAL_BUFFER, "plaintext too short");
    const msgLength = body.readUInt32BE(RANDOM_BYTES);
    if (msgLength > body.length - HEADER_BYTES) {
      throw new WecomCryptoError(ILLEGAL_BUFFER, "message length exceeds the plaintext");
    }
    const msgEnd = HEADER_BYTES + msgLength;
    if (!body.subarray(msgEnd).equals(receiveIdBytes)) {
      throw new WecomCryptoError(VALIDATE_RECEIVE_ID, "receiveId does not match");
    }
    try {
      return UTF8.decode(body.subarray(HEADER_BYTES, msgEnd));
    } catch {
      throw new WecomCryptoError(ILLEGAL_BUFFER, "message is not valid UTF-8");
    }
  };

  const encrypt = (message: string, random: Buffer = randomBytes(RANDOM_BYTES)): string => {
    if (!Buffer.isBuffer(random) || random.length !== RANDOM_BYTES) {
      throw new WecomCryptoError(ENCRYPT_AES, `random prefix must be exactly ${RANDOM_BYTES} bytes`);
    }
    const msg = Buffer.from(message, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(msg.length);
    const unpadded = RANDOM_BYTES + 4 + msg.length + receiveIdBytes.length;
    const pad = PAD_BLOCK - (unpadded % PAD_BLOCK); // 1..32: a full block of 32 when already aligned
    const plain = Buffer.concat([random, length, msg, receiveIdBytes, Buffer.alloc(pad, pad)]);
    try {
      const cipher = createCipheriv("aes-256-cbc", key, iv).setAutoPadding(false);
      return Buffer.concat([cipher.update(plain), cipher.final()]).toString("base64");
    } catch {
      throw new WecomCryptoError(ENCRYPT_AES, "AES encryption failed");
    }
  };

  const checkSignature = (signature: string, timestamp: string, nonce: string, encrypted: string) => {
    if (!verifySignature(signature, timestamp, nonce, encrypted)) {
      throw new WecomCryptoError(VALIDATE_SIGNATURE, "msg_signature does not match");
    }
  };

  return {
    verifySignature,
    decrypt,
    encrypt,

    verifyUrl(q) {
      checkSignature(q.msg_signature, q.timestamp, q.nonce, q.echostr);
      return decrypt(q.echostr);
    },

    openEnvelope(q, body) {
      let encrypted: string | undefined;
      try {
        encrypted = xmlText(parseWecomXml(body), "Encrypt");
      } catch (err) {
        // parseWecomXml only throws WecomXmlError; anything else is mapped too, so callers catch one type.
        const reason = err instanceof Error ? err.message : String(err);
        throw new WecomCryptoError(PARSE_XML, `unparsable envelope: ${reason}`);
      }
      if (!encrypted) throw new WecomCryptoError(PARSE_XML, "envelope has no <Encrypt>");
      checkSignature(q.msg_signature, q.timestamp, q.nonce, encrypted);
      return decrypt(encrypted);
    },

    sealReply(message, timestamp, nonce, random) {
      const encrypted = encrypt(message, random);
      return buildWecomXml({
        Encrypt: encrypted,
        MsgSignature: wecomSignature(token, timestamp, nonce, encrypted),
        // §1.6 shows TimeStamp as bare digits; anything else (e.g. leading zeros) stays a string so the
        // signed value and the sent value cannot differ.
        TimeStamp: /^(?:0|[1-9][0-9]{0,14})$/.test(timestamp) ? Number(timestamp) : timestamp,
        Nonce: nonce,
      });
    },
  };
}
