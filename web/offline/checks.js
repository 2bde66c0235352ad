// The decision sequence of one credential against an opened bundle, in the gateway's order and
// with its reason codes (src/service/verification/checks.rs; DESIGN.md): size, structure,
// header, issuer and key, signature, claims, time, status, holder key, recognition.

import { cardNumberFits, holderKey, int, MalformedClaims, statusIndex, text, tierOf } from './claims.js';
import { scan, ScanError, str } from './json.js';
import { algorithmOf, b64Decode } from './keys.js';

/** Credentials larger than this are MALFORMED before any parsing. */
export const MAX_CREDENTIAL_BYTES = 8 * 1024;
const UNSUPPORTED = ['crit', 'jku', 'x5u', 'jwk', 'x5c'];
const utf8 = new TextEncoder();

/** The token inside a QR payload ("NCTC1:…", any label of 1 to 16 letters or digits), or the input. */
export function stripQrPrefix(credential) {
  const c = credential.trim();
  const m = /^[A-Za-z0-9]{1,16}:/.exec(c);
  return m ? c.slice(m[0].length) : c;
}

/** A verdict in the shape of the contract's VerifyCardResponse, as the page shows one. */
function verdict(reason, detail, issuerRegion = '') {
  return {
    valid: reason === 'OK',
    reason,
    detail,
    issuerRegion,
    cardId: '',
    holderName: '',
    nativeTier: '',
    recognisedTier: '',
    expiresAt: undefined,
    entitlements: [],
    catalogueVersion: '',
    holderKey: undefined,
  };
}

const refuse = (v, reason, detail) => ({ ...v, valid: false, reason, detail });

/** Splits and decodes a compact JWS, or says why it is malformed (the gateway's words). */
function parseCompact(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return { error: 'malformed token: a compact JWS has three parts' };
  const [h, p, s] = parts;
  const headerBytes = b64Decode(h);
  if (!headerBytes) return { error: 'malformed token: bad base64url' };
  let header;
  try {
    header = scan(headerBytes);
  } catch (e) {
    if (e instanceof ScanError) return { error: `malformed token: ${e.in('header')}` };
    throw e;
  }
  const optional = (name) => header[name] === undefined || header[name] === null || typeof header[name] === 'string';
  if (typeof header.alg !== 'string' || !optional('kid') || !optional('typ')) {
    return { error: 'malformed token: header is not a JSON object with alg' };
  }
  const payload = b64Decode(p);
  const signature = payload && b64Decode(s);
  if (!payload || !signature) return { error: 'malformed token: bad base64url' };
  return { header, payload, signature, input: utf8.encode(`${h}.${p}`) };
}

/**
 * The verdict on `credential` at Unix time `at` (seconds) under `bundle` (an opened bundle,
 * see offline.js), entitlement lines in `lang` ('en' or Chinese).
 */
export async function decide(bundle, credential, at, lang) {
  const t = BigInt(at);
  const claims = bundle.claims;
  if (t > BigInt(claims.exp)) {
    return verdict('STALE_TRUST_DATA', `the offline bundle expired at ${claims.exp} (Unix seconds); fetch a new one`);
  }
  // 1. size, before any parsing
  if (utf8.encode(credential).length > MAX_CREDENTIAL_BYTES) {
    return verdict('MALFORMED', 'credential is larger than 8 KiB');
  }
  // 2. structure; before the signature only what choosing the key needs is read
  const jws = parseCompact(stripQrPrefix(credential));
  if (jws.error) return verdict('MALFORMED', jws.error);
  let payload;
  try {
    payload = scan(jws.payload);
  } catch (e) {
    if (e instanceof ScanError) return verdict('MALFORMED', e.in('payload'));
    throw e;
  }
  const iss = str(payload, 'iss');
  if (iss === undefined) return verdict('MALFORMED', 'payload has no iss');
  // 3. header
  const { header } = jws;
  if (UNSUPPORTED.some((name) => header[name] !== undefined && header[name] !== null)) {
    return verdict('UNSUPPORTED_HEADER', 'crit, jku, x5u, jwk and x5c headers are refused, never followed');
  }
  const alg = algorithmOf(header.alg);
  if (!alg) return verdict('ALGORITHM_NOT_ALLOWED', `algorithm ${JSON.stringify(header.alg)} is not allowed`);
  // 4. issuer and key: own keys only for own cards, a partner's only for its cards
  const own = iss === claims.iss;
  const issuer = bundle.issuers.get(iss);
  if (!issuer) return verdict('UNKNOWN_ISSUER', `issuer ${JSON.stringify(iss)} is not trusted here`);
  const region = bundle.catalogue.regionOfIssuer(iss)?.id ?? (own ? claims.region : issuer.region);
  let v = verdict('OK', '', region);
  if (!own && issuer.suspended) {
    return refuse(v, 'PARTNER_SUSPENDED', 'the partner is suspended under the agreement');
  }
  if (!own && issuer.stale) return refuse(v, 'STALE_TRUST_DATA', issuer.stale);
  const { profile } = issuer;
  if (header.typ !== profile.typ) return refuse(v, 'WRONG_TYPE', `typ must be ${profile.typ}`);
  if (!profile.algorithms.includes(header.alg)) {
    return refuse(v, 'ALGORITHM_NOT_ALLOWED', 'the profile does not allow this algorithm');
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  // A revoked kid is refused at lookup, before any signature work.
  if (kid !== undefined && issuer.revoked.has(kid)) {
    return refuse(v, 'KEY_REVOKED', 'the key that signed this token is revoked');
  }
  const key = kid === undefined ? undefined : issuer.keys.get(kid);
  if (!key) return refuse(v, 'UNKNOWN_KEY', 'no key with that kid for this issuer');
  if (key.alg !== alg) return refuse(v, 'ALGORITHM_NOT_ALLOWED', 'the key is pinned to another algorithm');
  // 5. signature
  if (!(await key.verify(jws.input, jws.signature))) {
    return refuse(v, 'BAD_SIGNATURE', 'signature does not match');
  }
  // claims, now that they are known to be the issuer's
  const names = profile.claims;
  let card;
  let name;
  let tier;
  let exp;
  let iat;
  let nbf;
  try {
    card = text(payload, names.card_number);
    if (!cardNumberFits(card, own, profile.card_number)) {
      throw new MalformedClaims(`${names.card_number} is not a card number of this issuer`);
    }
    name = text(payload, names.holder_name);
    tier = tierOf(text(payload, names.tier), names.tier);
    exp = int(payload, 'exp');
    if (exp === undefined) throw new MalformedClaims('exp is missing');
    iat = int(payload, 'iat');
    if (iat === undefined) throw new MalformedClaims('iat is missing');
    nbf = int(payload, 'nbf');
    if (nbf === undefined) {
      if (names.nbf_required) throw new MalformedClaims('nbf is missing');
      nbf = iat;
    }
  } catch (e) {
    if (e instanceof MalformedClaims) return refuse(v, 'MALFORMED', e.message);
    throw e;
  }
  v = { ...v, cardId: card, holderName: name, nativeTier: tier, expiresAt: { seconds: exp, nanos: 0 } };
  // 6. time: EXPIRED and NOT_YET_VALID first, whatever else is odd; a window that cannot
  // hold or an iat in the future is MALFORMED.
  const skew = BigInt(claims.clock_skew_seconds);
  if (exp + skew <= t) return refuse(v, 'EXPIRED', 'the card has expired');
  if (nbf > t + skew) return refuse(v, 'NOT_YET_VALID', 'the card is not valid yet');
  if (exp <= nbf || iat > t + skew) return refuse(v, 'MALFORMED', 'exp, nbf or iat are inconsistent');
  // 7. status: own cards always carry an index; a partner's profile makes it optional
  const idx = statusIndex(payload);
  let status;
  if (own) {
    if (idx === undefined) return refuse(v, 'MALFORMED', 'status.status_list.idx is missing');
    status = issuer.statuses.status(idx);
  } else if (issuer.statuses && idx !== undefined) {
    status = issuer.statuses.status(idx);
  }
  if (status === 'suspended') return refuse(v, 'SUSPENDED', 'the card is suspended by its issuer');
  if (status === 'revoked') return refuse(v, 'REVOKED', 'the card is revoked by its issuer');
  // 8. holder binding: a cnf that is there but cannot be read is refused
  try {
    v.holderKey = holderKey(payload);
  } catch (e) {
    if (e instanceof MalformedClaims) return refuse(v, 'HOLDER_PROOF_INVALID', e.message);
    throw e;
  }
  // What the holder is recognised as here.
  const r = bundle.catalogue.here(v.issuerRegion, tier, claims.region, lang);
  if (!r) {
    return refuse(v, 'MALFORMED', `tier ${tier} is not a tier the agreement knows for ${v.issuerRegion}`);
  }
  return { ...v, recognisedTier: r.recognisedTier, entitlements: r.lines, catalogueVersion: r.version };
}
