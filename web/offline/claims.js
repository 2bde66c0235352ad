// A card's claims once its signature holds, read as the gateway reads them
// (src/credential/claims.rs, holder_key.rs; src/domain/card_number.rs, tier.rs): each refusal
// says which claim is wrong.

import { JsonNumber, obj, str } from './json.js';
import { b64Decode, isEd25519Point } from './keys.js';

/** A claim that cannot be read as a card; the message is the verdict's detail. */
export class MalformedClaims extends Error {}

/** A member that must be a non-empty string. */
export function text(claims, name) {
  const s = str(claims, name);
  if (!s) throw new MalformedClaims(`${name} is missing or not a string`);
  return s;
}

/** A member that must be an integer when present: a BigInt, or undefined when absent. */
export function int(claims, name) {
  if (!(name in claims)) return undefined;
  const v = claims[name];
  const n = v instanceof JsonNumber ? v.asI64() : null;
  if (n === null) throw new MalformedClaims(`${name} is not an integer`);
  return n;
}

/** `status.status_list.idx` as an unsigned integer (a BigInt), or undefined. */
export function statusIndex(claims) {
  const idx = obj(obj(claims, 'status'), 'status_list')?.idx;
  return idx instanceof JsonNumber ? (idx.asU64() ?? undefined) : undefined;
}

const BODY = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function checkChar(s) {
  let p = 36;
  for (const c of s) {
    const v = BODY.indexOf(c);
    let t = (p + (v < 0 ? 0 : v)) % 36;
    if (t === 0) t = 36;
    p = (2 * t) % 37;
  }
  return BODY[(37 - p) % 36];
}

/** An own card number: letters, the random part, and its ISO/IEC 7064 MOD 37,36 check. */
export function isOwnCardNumber(card) {
  const s = card.trim().toUpperCase();
  if (s.length < 15 || s.length > 17 || !/^[A-Z0-9]+$/.test(s)) return false;
  return s.endsWith(checkChar(s.slice(0, -1)));
}

/** Whether `card` has the profile's shape (prefix then digits), or an own card's. */
export function cardNumberFits(card, own, shape) {
  if (shape) {
    return card.startsWith(shape.prefix)
      && card.length - shape.prefix.length === shape.digits
      && /^[0-9]*$/.test(card.slice(shape.prefix.length));
  }
  return own ? isOwnCardNumber(card) : new TextEncoder().encode(card).length <= 64;
}

/** A tier letter ("A" to "Z", spaces around allowed), or throws naming the claim. */
export function tierOf(value, claim) {
  const t = value.trim();
  if (!/^[A-Z]$/.test(t)) throw new MalformedClaims(`${claim} is not a tier`);
  return t;
}

/**
 * `cnf.jwk` as the holder's Ed25519 key `{kty, crv, x}`: undefined only when there is no `cnf`.
 * A `cnf` that is there but cannot be used throws, naming what is wrong: a card read as unbound
 * would skip a required holder proof.
 */
export function holderKey(claims) {
  if (!('cnf' in claims)) return undefined;
  const cnf = claims.cnf;
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf) || cnf instanceof JsonNumber) {
    throw new MalformedClaims('cnf is not an object');
  }
  if (!('jwk' in cnf)) {
    if ('jkt' in cnf) throw new MalformedClaims('cnf.jkt (a key thumbprint) cannot be checked here: the card must carry cnf.jwk');
    throw new MalformedClaims(`cnf has no jwk (it has ${JSON.stringify(Object.keys(cnf))})`);
  }
  const jwk = obj(cnf, 'jwk');
  if (!jwk) throw new MalformedClaims('cnf.jwk is not a JWK object');
  const kty = str(jwk, 'kty');
  if (kty === undefined) throw new MalformedClaims('cnf.jwk has no kty');
  if (kty !== 'OKP') throw new MalformedClaims(`cnf.jwk kty ${JSON.stringify(kty)} is not OKP`);
  const crv = str(jwk, 'crv');
  if (crv === undefined) throw new MalformedClaims('cnf.jwk has no crv');
  if (crv !== 'Ed25519') throw new MalformedClaims(`cnf.jwk crv ${JSON.stringify(crv)} is not Ed25519`);
  if ('d' in jwk) throw new MalformedClaims('cnf.jwk carries a private key (d)');
  const x = str(jwk, 'x');
  if (x === undefined) throw new MalformedClaims('cnf.jwk has no x');
  const raw = b64Decode(x);
  if (!raw || raw.length !== 32 || !isEd25519Point(raw)) {
    throw new MalformedClaims('cnf.jwk x is not a base64url Ed25519 public key');
  }
  return { kty: 'OKP', crv: 'Ed25519', x };
}
