// A tiny protobuf codec for the few messages the counter page uses (proto3, wire types 0
// varint and 2 length-delimited only). A schema maps field names to [number, type], where
// type is 'string' | 'bool' | 'int64' | 'int32' | 'uint32' | a nested schema, and
// { repeated: schema } for repeated messages. Unknown fields are skipped when decoding.

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function writeVarint(out, value) {
  // BigInt covers int64, negative numbers being ten bytes of two's complement.
  let v = BigInt.asUintN(64, BigInt(value));
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function readVarint(buf, pos) {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v, pos];
    shift += 7n;
    if (shift > 63n) throw new Error('varint too long');
  }
}

function defaultOf(type) {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  if (typeof type === 'string') return 0;
  if (type.repeated) return [];
  return null;
}

/** Encodes `msg` (a plain object) by `schema` into a Uint8Array. Defaults are omitted. */
export function encode(schema, msg) {
  const out = [];
  for (const [name, [num, type]] of Object.entries(schema)) {
    const value = msg[name];
    if (value === undefined || value === null) continue;
    if (type === 'string') {
      if (value === '') continue;
      const bytes = utf8.encode(value);
      writeVarint(out, (num << 3) | 2);
      writeVarint(out, bytes.length);
      for (const b of bytes) out.push(b);
    } else if (type === 'bool' || typeof type === 'string') {
      const n = type === 'bool' ? (value ? 1 : 0) : value;
      if (n === 0 || n === 0n) continue;
      writeVarint(out, num << 3);
      writeVarint(out, n);
    } else {
      const items = type.repeated ? value : [value];
      for (const item of items) {
        const bytes = encode(type.repeated || type, item);
        writeVarint(out, (num << 3) | 2);
        writeVarint(out, bytes.length);
        for (const b of bytes) out.push(b);
      }
    }
  }
  return Uint8Array.from(out);
}

/** Decodes `buf` by `schema` into a plain object with proto3 defaults filled in. */
export function decode(schema, buf) {
  const byNumber = new Map();
  const msg = {};
  for (const [name, [num, type]] of Object.entries(schema)) {
    byNumber.set(num, [name, type]);
    msg[name] = defaultOf(type);
  }
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    const field = byNumber.get(num);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (!field) continue;
      const [name, type] = field;
      if (type === 'bool') msg[name] = v !== 0n;
      else if (type === 'int64') msg[name] = Number(BigInt.asIntN(64, v));
      else if (type === 'int32') msg[name] = Number(BigInt.asIntN(32, v));
      else msg[name] = Number(BigInt.asUintN(32, v));
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const end = pos + Number(len);
      if (end > buf.length) throw new Error('truncated field');
      const bytes = buf.subarray(pos, end);
      pos = end;
      if (!field) continue;
      const [name, type] = field;
      if (type === 'string') msg[name] = fromUtf8.decode(bytes);
      else if (type.repeated) msg[name].push(decode(type.repeated, bytes));
      else if (typeof type === 'object') msg[name] = decode(type, bytes);
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return msg;
}

// The messages of talentcard.v1 the page sends and reads (field numbers from proto/).
export const Timestamp = { seconds: [1, 'int64'], nanos: [2, 'int32'] };

export const Entitlement = {
  service_code: [1, 'string'],
  name: [2, 'string'],
  basis: [3, 'string'],
  source_service_code: [4, 'string'],
  name_zh: [5, 'string'],
  name_en: [6, 'string'],
  reason: [7, 'string'],
  quota: [8, 'string'],
};

export const VerifyCardRequest = {
  credential: [1, 'string'],
  holder_proof: [2, 'string'],
  language: [3, 'string'],
};

export const VerifyCardResponse = {
  valid: [1, 'bool'],
  reason: [2, 'string'],
  issuer_region: [3, 'string'],
  card_id: [4, 'string'],
  native_tier: [5, 'string'],
  recognised_tier: [6, 'string'],
  expires_at: [7, Timestamp],
  entitlements: [8, { repeated: Entitlement }],
  holder_name: [9, 'string'],
  catalogue_version: [10, 'string'],
  detail: [11, 'string'],
};

export const RedeemServiceRequest = {
  credential: [1, 'string'],
  service_code: [2, 'string'],
  idempotency_key: [3, 'string'],
  holder_proof: [4, 'string'],
};

export const RedeemServiceResponse = {
  redemption_id: [1, 'string'],
  remaining: [2, 'int64'],
  period_end: [3, Timestamp],
  catalogue_version: [4, 'string'],
};
