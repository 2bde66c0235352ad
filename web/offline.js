// The counter page's offline verifier: opens a signed offline bundle (typ trust-bundle+jwt,
// DESIGN.md "Offline bundle") exactly as the Rust reader does (talent_verifier::bundle) and
// decides cards from it with the gateway's decision sequence and reasons (offline/checks.js).
// No network: everything comes from the bundle and what it was opened under.

import { decide } from './offline/checks.js';
import { algorithmOf, b64Decode, keysFromJwks } from './offline/keys.js';
import { checkedProfile } from './offline/profile.js';
import { Catalogue } from './offline/recognition.js';
import { verifyStatusList } from './offline/status_list.js';

export { stripQrPrefix } from './offline/checks.js';

/** The JWS `typ` of an offline bundle. */
export const BUNDLE_TYPE = 'trust-bundle+jwt';

/** Why a bundle or an anchor cannot be used; the message names the reason. */
export class BundleError extends Error {
  constructor(message) {
    super(message);
    this.name = 'BundleError';
  }
}

const decodeJson = (part) => {
  const bytes = b64Decode(part);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
};

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

const REFUSED_HEADERS = ['crit', 'jku', 'x5u', 'jwk', 'x5c'];

/**
 * A bundle's JWS split and read as the Rust reader reads it (talent_verifier's compact.rs):
 * three parts, a header with typ trust-bundle+jwt, no crit/jku/x5u/jwk/x5c, an allowed alg
 * and a kid; the payload is decoded but not yet believed.
 */
function split(text) {
  const parts = String(text).trim().split('.');
  if (parts.length !== 3) throw new BundleError('malformed bundle: a compact JWS has three parts');
  const header = decodeJson(parts[0]);
  if (!isObject(header) || typeof header.alg !== 'string') {
    throw new BundleError('malformed bundle: header is not a JSON object with alg');
  }
  const typ = typeof header.typ === 'string' ? header.typ : '';
  if (typ !== BUNDLE_TYPE) throw new BundleError(`wrong typ: a bundle's typ is ${BUNDLE_TYPE}, not ${JSON.stringify(typ)}`);
  const refused = REFUSED_HEADERS.find((name) => header[name] !== undefined && header[name] !== null);
  if (refused) throw new BundleError(`malformed bundle: a ${refused} header is refused, never followed`);
  const alg = algorithmOf(header.alg);
  if (!alg) throw new BundleError(`malformed bundle: algorithm ${JSON.stringify(header.alg)} is not allowed`);
  if (typeof header.kid !== 'string') throw new BundleError('malformed bundle: the header names no kid');
  return { parts, alg, algName: header.alg, kid: header.kid };
}

/** Checks a split bundle's signature under `key` (its alg must be the key's). */
async function verifySplit(jws, key) {
  if (key.alg !== jws.alg) {
    throw new BundleError(`algorithm mismatch: key ${JSON.stringify(jws.kid)} is not an ${JSON.stringify(jws.algName)} key`);
  }
  const signature = b64Decode(jws.parts[2]);
  const input = new TextEncoder().encode(`${jws.parts[0]}.${jws.parts[1]}`);
  if (!signature || !(await key.verify(input, signature))) {
    throw new BundleError(`bad signature: the bundle does not verify under key ${JSON.stringify(jws.kid)}`);
  }
}

/** The claims of a split bundle, with the shape every reader relies on. */
function claimsOf(jws) {
  const c = decodeJson(jws.parts[1]);
  const int = (v) => Number.isSafeInteger(v);
  const ok = isObject(c) && typeof c.iss === 'string' && typeof c.region === 'string' && int(c.iat)
    && int(c.exp) && int(c.clock_skew_seconds) && Array.isArray(c.issuers) && isObject(c.catalogue)
    && c.issuers.every((i) => isObject(i) && typeof i.issuer === 'string' && typeof i.region === 'string'
      && isObject(i.profile) && isObject(i.jwks)
      && (i.status_list === undefined || i.status_list === null || typeof i.status_list === 'string'));
  if (!ok) throw new BundleError('malformed bundle: its claims are not those of an offline bundle');
  return c;
}

/** The kids a `revoked` member lists (`[{kid, revoked_at, reason}]`). */
const revokedKids = (list) => (Array.isArray(list) ? list : []).map((r) => r?.kid).filter((k) => typeof k === 'string');

/**
 * An issuer's keys as a JWK Set lists them: the usable ones by kid (a key that cannot be read
 * is left out) and the revoked kids (the set's `revoked` member and `alsoRevoked`), which are
 * never usable.
 */
async function issuerKeys(jwks, alsoRevoked = []) {
  const { keys } = await keysFromJwks(jwks);
  const revoked = new Set([...revokedKids(jwks?.revoked), ...alsoRevoked]);
  for (const kid of revoked) keys.delete(kid);
  return { keys, revoked };
}

/** An issuer entry's keys: its `jwks` and its `revoked` list. */
async function entryKeys(entry) {
  try {
    return await issuerKeys(entry.jwks, revokedKids(entry.revoked));
  } catch (e) {
    throw new BundleError(`issuer ${entry.issuer}: jwks: ${e.message}`);
  }
}

/** The signer's own issuer entry (the one whose `issuer` is `iss`), exactly once. */
function ownEntry(claims) {
  const own = claims.issuers.filter((e) => e.issuer === claims.iss);
  if (own.length === 0) throw new BundleError(`issuer mismatch: no issuer entry for iss ${JSON.stringify(claims.iss)}`);
  if (own.length > 1) throw new BundleError(`malformed bundle: issuer ${claims.iss} is listed twice`);
  return own[0];
}

/**
 * What a verifier trusts at first: the keys of the bundle signer. `text` is a JWKS
 * (`{"keys": [...]}`, the gateway's published JWKS, its `revoked` member honoured) or an earlier
 * bundle (its own entry's usable keys, checked against its own signature; its `iss` must be the
 * new bundle's). Resolves to `{keys, revoked, iss}`; throws BundleError naming what is wrong.
 */
export async function parseAnchor(text) {
  const trimmed = String(text ?? '').trim();
  if (trimmed.startsWith('{')) {
    let jwks;
    try {
      jwks = JSON.parse(trimmed);
    } catch {
      throw new BundleError('trust anchor: jwks: not JSON');
    }
    let keys;
    try {
      keys = await issuerKeys(jwks);
    } catch (e) {
      throw new BundleError(`trust anchor: jwks: ${e.message}`);
    }
    if (keys.keys.size === 0) throw new BundleError('trust anchor: the JWKS lists no usable key');
    return { ...keys, iss: undefined };
  }
  const earlier = (() => {
    try {
      return split(trimmed);
    } catch (e) {
      throw new BundleError(`trust anchor: neither a JWKS nor a bundle: ${e.message}`);
    }
  })();
  try {
    const claims = claimsOf(earlier);
    const keys = await entryKeys(ownEntry(claims));
    const key = keys.keys.get(earlier.kid);
    if (!key) throw new BundleError(`its own jwks does not list its signing kid ${JSON.stringify(earlier.kid)}`);
    await verifySplit(earlier, key);
    return { ...keys, iss: claims.iss };
  } catch (e) {
    throw new BundleError(`trust anchor: earlier bundle: ${e.message}`);
  }
}

/** An entry's profile, checked as a `profiles_dir` file is. */
function profileOf(entry) {
  try {
    return checkedProfile(entry.profile);
  } catch (e) {
    throw new BundleError(`issuer ${entry.issuer}: ${e.message}`);
  }
}

/**
 * Opens `bundle` (compact JWS) under `anchor` (from parseAnchor), as talent_verifier's
 * OfflineBundle::open does: the structure, typ trust-bundle+jwt, a header kid the anchor lists
 * and has not revoked, the signature under that key, `iss` the anchor's (an earlier bundle's),
 * an own entry listing the kid as a usable key; then each issuer's keys and status list (under
 * that issuer's own keys; the signer's own must be there) and the catalogue. Does not check
 * `exp` (a stale bundle still opens; its verdicts are STALE_TRUST_DATA). Throws BundleError.
 */
export async function openBundle(bundle, anchor) {
  const jws = split(bundle);
  if (anchor.revoked.has(jws.kid)) throw new BundleError(`revoked kid: key ${JSON.stringify(jws.kid)} is revoked in the trust anchor`);
  const key = anchor.keys.get(jws.kid);
  if (!key) throw new BundleError(`unknown kid: the trust anchor lists no key ${JSON.stringify(jws.kid)}`);
  await verifySplit(jws, key);
  const claims = claimsOf(jws);
  if (anchor.iss !== undefined && anchor.iss !== claims.iss) {
    throw new BundleError(`issuer mismatch: the bundle's iss is ${JSON.stringify(claims.iss)}, the earlier bundle's ${JSON.stringify(anchor.iss)}`);
  }
  const own = ownEntry(claims);
  if (!(await entryKeys(own)).keys.has(jws.kid)) {
    throw new BundleError(`issuer mismatch: the entry of ${claims.iss} does not list the signing kid ${JSON.stringify(jws.kid)} as a usable key`);
  }
  if (typeof own.status_list !== 'string') {
    throw new BundleError(`status list of ${claims.iss} does not verify: the signer's own entry has no status list`);
  }
  const issuers = new Map();
  for (const entry of claims.issuers) {
    if (issuers.has(entry.issuer)) throw new BundleError(`malformed bundle: issuer ${entry.issuer} is listed twice`);
    const { keys, revoked } = await entryKeys(entry);
    let statuses;
    if (typeof entry.status_list === 'string') {
      try {
        statuses = await verifyStatusList(entry.status_list, entry.issuer, keys);
      } catch (e) {
        throw new BundleError(`status list of ${entry.issuer} does not verify: ${e.message}`);
      }
    }
    issuers.set(entry.issuer, {
      issuer: entry.issuer,
      region: entry.region,
      profile: profileOf(entry),
      keys,
      revoked,
      statuses,
      suspended: entry.suspended === true,
      stale: typeof entry.stale === 'string' ? entry.stale : undefined,
    });
  }
  let catalogue;
  try {
    catalogue = new Catalogue(claims.catalogue);
  } catch (e) {
    throw new BundleError(`catalogue: ${e.message}`);
  }
  if (!catalogue.region(claims.region)) {
    throw new BundleError(`catalogue: region ${JSON.stringify(claims.region)} is not in the catalogue`);
  }
  return { text: String(bundle).trim(), claims, issuers, catalogue };
}

/**
 * The verdict on `credential` at Unix time `at` (seconds; default now) from an opened bundle,
 * in the shape of the contract's VerifyCardResponse (entitlements in `lang`). A bundle past its
 * `exp` answers STALE_TRUST_DATA.
 */
export function verifyOffline(opened, credential, at = Math.floor(Date.now() / 1000), lang = 'zh') {
  return decide(opened, String(credential), at, lang);
}
