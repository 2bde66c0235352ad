// The strict JSON reading of a token's header and payload before its signature holds, as the
// gateway's scanner does it (src/credential/json_scan): an object at the top, at most 16 levels
// deep, 256 members in all, numbers of at most 40 characters, and no member name given twice in
// one object (compared unescaped). Numbers keep their text, so that an integer is told from a
// float as serde_json tells them.

export const MAX_DEPTH = 16;
export const MAX_MEMBERS = 256;
export const MAX_NUMBER_CHARS = 40;

/** A JSON number as written. */
export class JsonNumber {
  constructor(text) {
    this.text = text;
  }

  /** serde_json's reading: 'pos' (fits u64), 'neg' (fits i64) or 'float'; and its value. */
  kind() {
    if (/[.eE]/.test(this.text)) return { kind: 'float' };
    const n = BigInt(this.text);
    if (this.text.startsWith('-')) return n >= -(2n ** 63n) ? { kind: 'neg', n } : { kind: 'float' };
    return n < 2n ** 64n ? { kind: 'pos', n } : { kind: 'float' };
  }

  /** The value as an i64 (a BigInt), or null when it is not one. */
  asI64() {
    const { kind, n } = this.kind();
    if (kind === 'neg') return n;
    if (kind === 'pos' && n < 2n ** 63n) return n;
    return null;
  }

  /** The value as a u64 (a BigInt), or null when it is not one. */
  asU64() {
    const { kind, n } = this.kind();
    return kind === 'pos' ? n : null;
  }
}

/** Why a document was refused; `kind` is one of the gateway's scan errors. */
export class ScanError extends Error {
  constructor(kind) {
    super(kind);
    this.kind = kind;
  }

  /** The verdict's detail, worded as the gateway words it. */
  in(part) {
    return {
      NotAnObject: part === 'header' ? 'header is not a JSON object with alg' : 'payload is not a JSON object',
      TooDeep: `${part} nests deeper than 16 levels`,
      TooManyMembers: `${part} holds more than 256 members`,
      NumberTooLong: `${part} holds a number longer than 40 characters`,
      DuplicateMember: `${part} gives a member name twice`,
    }[this.kind];
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const WS = new Set([' ', '\t', '\n', '\r']);
const ESC = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Reads `bytes` (a Uint8Array) as one JSON object: objects become plain objects with a null
 * prototype, numbers JsonNumber. Throws ScanError.
 */
export function scan(bytes) {
  let text;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ScanError('NotAnObject');
  }
  let i = 0;
  let members = 0;
  // The bounds are the first failure a linear scan meets; syntax errors are NotAnObject.
  const bad = () => new ScanError('NotAnObject');
  const ws = () => {
    while (i < text.length && WS.has(text[i])) i += 1;
  };
  const string = () => {
    if (text[i] !== '"') throw bad();
    i += 1;
    let out = '';
    for (;;) {
      if (i >= text.length) throw bad();
      const c = text[i];
      const code = c.charCodeAt(0);
      if (c === '"') {
        i += 1;
        return out;
      }
      if (code < 0x20) throw bad();
      if (c !== '\\') {
        out += c;
        i += 1;
        continue;
      }
      const e = text[i + 1];
      if (e in ESC) {
        out += ESC[e];
        i += 2;
        continue;
      }
      if (e !== 'u') throw bad();
      const unit = (at) => {
        const hex = text.slice(at, at + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw bad();
        return parseInt(hex, 16);
      };
      const u = unit(i + 2);
      i += 6;
      if (u >= 0xd800 && u <= 0xdbff) {
        // A lead surrogate needs its trail, as serde_json insists.
        if (text[i] !== '\\' || text[i + 1] !== 'u') throw bad();
        const v = unit(i + 2);
        if (v < 0xdc00 || v > 0xdfff) throw bad();
        i += 6;
        out += String.fromCharCode(u, v);
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        throw bad();
      } else {
        out += String.fromCharCode(u);
      }
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) throw bad();
    if (m[0].length > MAX_NUMBER_CHARS) throw new ScanError('NumberTooLong');
    i += m[0].length;
    if (!Number.isFinite(Number(m[0]))) throw bad();
    return new JsonNumber(m[0]);
  };
  const value = (depth) => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth + 1 > MAX_DEPTH) throw new ScanError('TooDeep');
      return c === '{' ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return number();
  };
  const array = (depth) => {
    i += 1;
    const out = [];
    ws();
    if (text[i] === ']') {
      i += 1;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      ws();
      if (text[i] === ',') {
        i += 1;
      } else if (text[i] === ']') {
        i += 1;
        return out;
      } else {
        throw bad();
      }
    }
  };
  const object = (depth) => {
    i += 1;
    const out = Object.create(null);
    ws();
    if (text[i] === '}') {
      i += 1;
      return out;
    }
    for (;;) {
      ws();
      const name = string();
      members += 1;
      if (members > MAX_MEMBERS) throw new ScanError('TooManyMembers');
      if (Object.prototype.hasOwnProperty.call(out, name)) throw new ScanError('DuplicateMember');
      ws();
      if (text[i] !== ':') throw bad();
      i += 1;
      out[name] = value(depth);
      ws();
      if (text[i] === ',') {
        i += 1;
      } else if (text[i] === '}') {
        i += 1;
        return out;
      } else {
        throw bad();
      }
    }
  };
  ws();
  if (text[i] !== '{') throw bad();
  const doc = object(1);
  ws();
  if (i !== text.length) throw bad();
  return doc;
}

/** A member that is a string, or undefined. */
export const str = (obj, name) => (typeof obj?.[name] === 'string' ? obj[name] : undefined);

/** A member that is an object (not an array), or undefined. */
export function obj(o, name) {
  const v = o?.[name];
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNumber) ? v : undefined;
}
