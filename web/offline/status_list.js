// An issuer's signed status list (typ statuslist+jwt, IETF Token Status List: 2 bits per card,
// zlib in `lst`), checked under the issuer's own keys before any entry is believed, as the
// gateway checks a partner's (src/trust/partner_status_list.rs). Its `exp` is not checked here:
// the bundle's own `exp` says how long its trust data holds.

import { algorithmOf, b64Decode } from './keys.js';

/** Largest inflated list accepted (2^24 entries at 2 bits). */
const MAX_LIST_BYTES = 1 << 22;

const REFUSED_HEADERS = ['crit', 'jku', 'x5u', 'jwk', 'x5c'];

const json = (bytes) => {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
};

/** zlib (RFC 1950) inflated in the browser, refusing more than `max` bytes. */
async function inflate(compressed, max) {
  const stream = new Blob([compressed]).stream().pipeThrough(new DecompressionStream('deflate'));
  const reader = stream.getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new Error('lst inflates past the limit');
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The statuses, 2 bits each, entry i in byte i/4 from the least significant bits. */
export class StatusList {
  constructor(bytes) {
    this.bytes = bytes;
  }

  get capacity() {
    return this.bytes.length * 4;
  }

  /** 'active', 'suspended' or 'revoked' for entry `idx` (a BigInt); past the end: revoked. */
  status(idx) {
    if (idx < 0n || idx >= BigInt(this.capacity)) return 'revoked';
    const i = Number(idx);
    const v = (this.bytes[i >> 2] >> ((i % 4) * 2)) & 0b11;
    // Unknown values count as revoked (fail closed).
    return v === 0 ? 'active' : v === 2 ? 'suspended' : 'revoked';
  }
}

/**
 * Verifies `token` as `issuer`'s status list signed by one of `keys` (a Map kid -> key) and
 * decodes it. Throws an Error saying what is wrong.
 */
export async function verifyStatusList(token, issuer, keys) {
  const parts = String(token).trim().split('.');
  if (parts.length !== 3) throw new Error('status list token is not a compact JWS');
  const [h, p, s] = parts;
  const header = json(b64Decode(h) ?? new Uint8Array([0xff]));
  if (header === null || typeof header !== 'object') throw new Error('status list header is not JSON');
  if (header.typ !== 'statuslist+jwt') throw new Error("status list token's typ is not statuslist+jwt");
  for (const name of REFUSED_HEADERS) {
    if (header[name] !== undefined) throw new Error(`status list token carries a ${name} header`);
  }
  const alg = typeof header.alg === 'string' ? algorithmOf(header.alg) : null;
  if (!alg) throw new Error('status list algorithm is not allowed');
  const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
  if (!key) throw new Error('status list is signed with a key not in the bundle');
  if (key.alg !== alg) throw new Error('status list key is pinned to another algorithm');
  const signature = b64Decode(s);
  if (!signature) throw new Error('status list signature is not base64url');
  const input = new TextEncoder().encode(`${h}.${p}`);
  if (!(await key.verify(input, signature))) throw new Error("status list signature does not match the bundle's keys");
  const claims = json(b64Decode(p) ?? new Uint8Array([0xff]));
  if (claims === null || typeof claims !== 'object') throw new Error('status list payload is not JSON');
  if (claims.iss !== issuer) throw new Error("status list is not the partner issuer's");
  const list = claims.status_list;
  if (list === undefined) throw new Error('status_list is missing');
  if (list?.bits !== 2) throw new Error('only 2-bit status lists are understood');
  if (typeof list.lst !== 'string') throw new Error('status_list.lst is missing');
  const compressed = b64Decode(list.lst);
  if (!compressed) throw new Error('status list is malformed: lst is not base64url');
  try {
    return new StatusList(await inflate(compressed, MAX_LIST_BYTES));
  } catch (e) {
    if (e.message === 'lst inflates past the limit') throw new Error(`status list is malformed: ${e.message}`);
    throw new Error('status list is malformed: lst is not zlib');
  }
}
