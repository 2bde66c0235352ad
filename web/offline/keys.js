// Verification keys pinned to one algorithm, read from a JWK as the gateway reads them
// (src/trust/pinned_key.rs): Ed25519 and ECDSA P-256 checked by WebCrypto, SM2 by the vendored
// sm-crypto (WebCrypto has no SM2).

import { sm2 } from '../vendor/sm2.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding, strictly (other alphabets, padding or stray bits: null). */
export function b64Decode(s) {
  if (typeof s !== 'string' || s.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const c of s) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n] = (acc >> bits) & 0xff;
      n += 1;
    }
  }
  // The bits left over must be zero, as the gateway's decoder insists.
  if (acc & ((1 << bits) - 1)) return null;
  return out;
}

/** The algorithm a JWS `alg` names, when it is one the gateway accepts at all. */
export function algorithmOf(alg) {
  switch (alg) {
    case 'EdDSA': case 'Ed25519': return 'EdDSA';
    case 'ES256': return 'ES256';
    case 'SM2': case 'SM3WithSM2': case 'GmSM2': return 'SM2';
    default: return null;
  }
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const big = (bytes) => BigInt(`0x${hex(bytes) || '0'}`);

function modPow(b, e, m) {
  let r = 1n;
  let x = b % m;
  while (e > 0n) {
    if (e & 1n) r = (r * x) % m;
    x = (x * x) % m;
    e >>= 1n;
  }
  return r;
}

const P25519 = 2n ** 255n - 19n;
const D25519 = (-121665n * modPow(121666n, P25519 - 2n, P25519)) % P25519 + P25519;

/** True when 32 bytes decompress to a point of edwards25519 (what ed25519-dalek's from_bytes checks). */
export function isEd25519Point(raw) {
  if (raw.length !== 32) return false;
  const le = Uint8Array.from(raw).reverse();
  le[0] &= 0x7f;
  const y = big(le) % P25519;
  const y2 = (y * y) % P25519;
  const u = (y2 - 1n + P25519) % P25519;
  const v = (D25519 * y2 + 1n) % P25519;
  // x² = u/v must have a root: (u·v⁻¹)^((p-1)/2) is 0 or 1.
  const x2 = (u * modPow(v, P25519 - 2n, P25519)) % P25519;
  const euler = modPow(x2, (P25519 - 1n) / 2n, P25519);
  return euler === 0n || euler === 1n;
}

// SM2's curve (GB/T 32918.5): y² = x³ + ax + b over p.
const SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFFn;
const SM2_A = SM2_P - 3n;
const SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93n;
const P256_P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604Bn;

function onCurve(x, y, p, a, b) {
  if (x >= p || y >= p) return false;
  return (y * y - (x * x * x + a * x + b)) % p === 0n;
}

/** Why one JWK is refused, naming the key. */
export class JwkError extends Error {}

/**
 * One JWK as a pinned key `{kid, alg, verify(input, signature) -> Promise<bool>}`; the
 * algorithm comes from the key type and an `alg` member must agree. Throws JwkError.
 */
export async function keyFromJwk(jwk) {
  const s = (name) => (typeof jwk?.[name] === 'string' ? jwk[name] : undefined);
  const kid = s('kid');
  if (!kid) throw new JwkError('a key without kid');
  if (new TextEncoder().encode(kid).length > 128) throw new JwkError('kid longer than 128 bytes');
  if (jwk.d !== undefined) throw new JwkError(`${kid}: a private key was published; refused`);
  if (s('use') !== undefined && s('use') !== 'sig') throw new JwkError(`${kid}: use is not sig`);
  const bytes = (member, len) => {
    if (s(member) === undefined) throw new JwkError(`${kid}: no ${member}`);
    const v = b64Decode(s(member));
    if (!v) throw new JwkError(`${kid}: ${member} is not base64url`);
    if (v.length !== len) throw new JwkError(`${kid}: ${member} must be ${len} bytes`);
    return v;
  };
  let alg;
  let verify;
  const [kty, crv] = [s('kty'), s('crv')];
  if (kty === 'OKP' && crv === 'Ed25519') {
    const x = bytes('x', 32);
    if (!isEd25519Point(x)) throw new JwkError(`${kid}: not an Ed25519 point`);
    alg = 'EdDSA';
    const key = await crypto.subtle.importKey('raw', x, { name: 'Ed25519' }, false, ['verify']);
    verify = (input, sig) => crypto.subtle.verify({ name: 'Ed25519' }, key, sig, input);
  } else if (kty === 'EC' && crv === 'P-256') {
    const [x, y] = [bytes('x', 32), bytes('y', 32)];
    if (!onCurve(big(x), big(y), P256_P, P256_P - 3n, P256_B)) throw new JwkError(`${kid}: not a P-256 point`);
    alg = 'ES256';
    const key = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: s('x'), y: s('y') },
      { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    // JOSE's r||s is what WebCrypto takes.
    verify = (input, sig) => crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, sig, input);
  } else if (kty === 'EC' && crv === 'SM2') {
    const [x, y] = [bytes('x', 32), bytes('y', 32)];
    if (!onCurve(big(x), big(y), SM2_P, SM2_A, SM2_B)) throw new JwkError(`${kid}: not an SM2 point`);
    alg = 'SM2';
    const publicKey = `04${hex(x)}${hex(y)}`;
    verify = async (input, sig) => sig.length === 64
      && sm2.doVerifySignature(Array.from(input), hex(sig), publicKey, { der: false, hash: true, userId: '1234567812345678' });
  } else {
    throw new JwkError(`${kid}: key type ${JSON.stringify(kty ?? null)}/${JSON.stringify(crv ?? null)} is not allowed`);
  }
  if (s('alg') !== undefined && algorithmOf(s('alg')) !== alg) {
    throw new JwkError(`${kid}: alg ${s('alg')} does not fit the key type`);
  }
  const checked = async (input, sig) => {
    try {
      return Boolean(await verify(input, sig));
    } catch {
      return false;
    }
  };
  return { kid, alg, verify: checked };
}

/**
 * A JWK Set's keys by kid: the acceptable ones, each refused key noted (as the gateway's
 * parse_jwks does); a kid listed twice keeps the first.
 */
export async function keysFromJwks(jwks) {
  if (!Array.isArray(jwks?.keys)) throw new JwkError('a JWK Set needs a keys array');
  const keys = new Map();
  const refused = [];
  for (const jwk of jwks.keys) {
    try {
      const key = await keyFromJwk(jwk);
      if (keys.has(key.kid)) refused.push(`${key.kid}: kid listed twice`);
      else keys.set(key.kid, key);
    } catch (e) {
      if (!(e instanceof JwkError)) throw e;
      refused.push(e.message);
    }
  }
  return { keys, refused };
}
