// A small offline bundle made here with Node's crypto, in the shared vectors' layout
// (tests/vectors: bundle.jwt, trust.jwks.json, vectors.json {at, cases[{name, credential,
// expected{reason}}]}, bundle-tampered.jwt): an own Ed25519 issuer, an ES256 partner, a
// suspended partner and a stale one, and one card per reason the page must give offline.
// Its expectations are the gateway's decision sequence (DESIGN.md), written out by hand.

import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { sm2 } from '../../web/vendor/sm2.js';

const b64 = (buf) => Buffer.from(buf).toString('base64url');
const enc = (obj) => b64(JSON.stringify(obj));

function keyPair(kind) {
  if (kind === 'SM2') {
    const { privateKey, publicKey } = sm2.generateKeyPairHex();
    const coord = (from) => Buffer.from(publicKey.slice(from, from + 64), 'hex').toString('base64url');
    const jwk = { kty: 'EC', crv: 'SM2', x: coord(2), y: coord(66) };
    const kid = createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 22);
    return { kind, privateKey, jwk: { ...jwk, kid, alg: 'SM2' }, kid };
  }
  const { privateKey, publicKey } = kind === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 22);
  return { kind, privateKey, jwk: { ...jwk, kid, alg: kind === 'ES256' ? 'ES256' : 'EdDSA', use: 'sig' }, kid };
}

/** A compact JWS over `payload` (an object or a raw string) with `header`. */
function jws(key, header, payload) {
  const input = `${enc(header)}.${typeof payload === 'string' ? b64(payload) : enc(payload)}`;
  let sig;
  if (key.kind === 'SM2') {
    // SM2 over SM3 with the default ID, r||s (DESIGN.md).
    sig = Buffer.from(sm2.doSignature(input, key.privateKey, { hash: true, der: false, userId: '1234567812345678' }), 'hex');
  } else if (key.kind === 'ES256') {
    sig = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  } else {
    sig = sign(null, Buffer.from(input), key.privateKey);
  }
  return `${input}.${b64(sig)}`;
}

/** A 2-bit status list of `capacity` entries with `set` {idx: value}, zlib'd. */
function statusList(key, iss, capacity, set) {
  const bytes = Buffer.alloc(capacity / 4);
  for (const [idx, v] of Object.entries(set)) bytes[idx >> 2] |= v << ((idx % 4) * 2);
  return jws(key, { alg: key.jwk.alg, kid: key.kid, typ: 'statuslist+jwt' },
    { iss, sub: `https://example.test/${iss}`, iat: 1, exp: 2, status_list: { bits: 2, lst: b64(deflateSync(bytes)) } });
}

const BODY = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
function cardNumber(random) {
  const s = `CQ${random}`;
  let p = 36;
  for (const c of s) {
    let t = (p + BODY.indexOf(c)) % 36;
    if (t === 0) t = 36;
    p = (2 * t) % 37;
  }
  return s + BODY[(37 - p) % 36];
}

const OWN = 'urn:cn:500000:talent-card';
const PARTNER = 'urn:cn:510700:kjc-talent-card';
const SUSPENDED = 'urn:cn:510100:suspended-card';
const STALE = 'urn:cn:510100:stale-card';
const OWN_PROFILE = {
  id: 'new-chongqing-talent-card-v1', typ: 'talent-card+jwt', algorithms: ['EdDSA', 'Ed25519', 'SM2'],
  qr_prefix: 'NCTC1:', claims: { card_number: 'sub', holder_name: 'name', tier: 'tier', nbf_required: true },
};
const PARTNER_PROFILE = {
  id: 'science-city-card-v1', typ: 'JWT', algorithms: ['EdDSA', 'Ed25519', 'ES256', 'SM2', 'SM3WithSM2', 'GmSM2'],
  qr_prefix: 'KJC1:', claims: { card_number: 'card_no', holder_name: 'holder_name', tier: 'level', nbf_required: false },
  card_number: { prefix: 'KJC', digits: 10 },
};
const service = (code, tiers, quota, extra = {}) => ({ code, name_zh: `服务${code}`, name_en: `Service ${code}`, tiers, quota, ...extra });
const CATALOGUE = {
  version: 'fixture-1',
  local_only_reason_zh: '本地服务',
  local_only_reason_en: 'local service',
  regions: [
    {
      id: 'chongqing', name_zh: '重庆', name_en: 'Chongqing', issuer: OWN, tiers: ['A', 'B', 'C', 'D', 'E', 'F'],
      services: [
        service('CQ01', 'A-F', 'unlimited'), service('CQ05', 'A-D', 'once'), service('CQ10', 'A-C', 'per_year 1'),
        service('CQ12', 'A-C', 'per_year 6'), service('CQ16', 'A-F', 'yuan per_year', { amount_yuan: { A: 10000, B: 8000, C: 6000, D: 4000, E: 2000, F: 1000 } }),
        service('CQ17', 'A-F', 'stay', { stay: [{ days: 90, pay_percent: 0 }, { days: 90, pay_percent: 50 }] }),
      ],
    },
    { id: 'mianyang', issuer: PARTNER, tiers: ['A', 'B', 'C', 'D', 'E'], services: [service('MY01', 'A-E', 'unlimited'), service('MY07', 'A-C', 'per_year 1'), service('MY08', 'A-C', 'per_year 6')] },
  ],
  recognition: [{ from: 'mianyang', to: 'chongqing', tiers: { A: 'A', B: 'B', C: 'C', D: 'D', E: 'F' } }],
  mappings: [{ chongqing: 'CQ01', mianyang: 'MY01' }, { chongqing: 'CQ10', mianyang: 'MY07' }, { chongqing: 'CQ12', mianyang: 'MY08' }],
};

/** The fixture at Unix time `at`: {trust, bundle, tampered, vectors: {at, cases}}. */
export function makeFixture(at = Math.floor(Date.now() / 1000)) {
  const own = keyPair('EdDSA');
  const ownNext = keyPair('EdDSA');
  const ownRevoked = keyPair('EdDSA');
  const partner = keyPair('ES256');
  const partnerSm2 = keyPair('SM2');
  const partnerRevoked = keyPair('ES256');
  const other = keyPair('EdDSA');
  const revokedAt = at - 3600;
  const trust = { keys: [own.jwk, ownNext.jwk], revoked: [{ kid: ownRevoked.kid, revoked_at: revokedAt, reason: 'compromised' }] };
  const issuer = (iss, region, profile, keys, revoked, list, extra = {}) => ({
    issuer: iss, region, profile, jwks: { keys: keys.map((k) => k.jwk) },
    revoked: revoked.map((k) => ({ kid: k.kid, revoked_at: revokedAt, reason: 'compromised' })), status_list: list, ...extra,
  });
  const claims = {
    iss: OWN, region: 'chongqing', iat: at - 60, exp: at + 86400, clock_skew_seconds: 60,
    issuers: [
      issuer(OWN, 'chongqing', OWN_PROFILE, [own, ownNext], [ownRevoked], statusList(own, OWN, 64, { 3: 1, 4: 2 })),
      issuer(PARTNER, 'mianyang', PARTNER_PROFILE, [partner, partnerSm2], [partnerRevoked], statusList(partner, PARTNER, 32, { 2: 1 })),
      issuer(SUSPENDED, 'chengdu', PARTNER_PROFILE, [partner], [], null, { suspended: true }),
      issuer(STALE, 'deyang', PARTNER_PROFILE, [partner], [], null, { stale: 'the partner was last heard from over 3600 s ago' }),
    ],
    catalogue: CATALOGUE,
  };
  const bundle = jws(own, { alg: 'EdDSA', typ: 'trust-bundle+jwt', kid: own.kid }, claims);
  // The same claims with one status flipped, under the original signature.
  const [h, , s] = bundle.split('.');
  const tamperedClaims = structuredClone(claims);
  tamperedClaims.issuers[0].revoked = [];
  const tampered = `${h}.${enc(tamperedClaims)}.${s}`;

  const ownHeader = (key = own, extra = {}) => ({ alg: 'EdDSA', typ: 'talent-card+jwt', kid: key.kid, ...extra });
  const ownCard = (idx, extra = {}) => ({
    iss: OWN, sub: cardNumber(`0000000000${String(idx).padStart(2, '0')}`), name: `持卡人${idx}`, tier: 'B',
    iat: at - 600, nbf: at - 600, exp: at + 365 * 86400, status: { status_list: { idx, uri: 'x' } }, ...extra,
  });
  const partnerCard = (extra = {}) => ({
    iss: PARTNER, card_no: 'KJC0000000001', holder_name: '绵阳访客', level: 'E', iat: at - 600, exp: at + 86400,
    status: { status_list: { idx: 1 } }, ...extra,
  });
  const partnerHeader = { alg: 'ES256', typ: 'JWT', kid: partner.kid };
  const ownOk = jws(own, ownHeader(), ownCard(1));
  const [oh, op] = ownOk.split('.');
  const holderX = keyPair('EdDSA').jwk.x;
  const badCheck = cardNumber('000000000010').replace(/.$/, (c) => (c === '0' ? '1' : '0'));
  const cases = [
    ['own card, valid', `NCTC1:${ownOk}`, 'OK'],
    ['own card signed by the next key', jws(ownNext, ownHeader(ownNext), ownCard(2)), 'OK'],
    ['partner card, ES256, tier E recognised as F', `KJC1:${jws(partner, partnerHeader, partnerCard())}`, 'OK'],
    ['partner card, SM2', jws(partnerSm2, { alg: 'SM2', typ: 'JWT', kid: partnerSm2.kid }, partnerCard()), 'OK'],
    ['partner card, SM2 named SM3WithSM2', jws(partnerSm2, { alg: 'SM3WithSM2', typ: 'JWT', kid: partnerSm2.kid }, partnerCard()), 'OK'],
    ['partner card, SM2, another holder under its signature', (() => {
      const [h, , sig] = jws(partnerSm2, { alg: 'SM2', typ: 'JWT', kid: partnerSm2.kid }, partnerCard()).split('.');
      return `${h}.${enc(partnerCard({ holder_name: '冒名者' }))}.${sig}`;
    })(), 'BAD_SIGNATURE'],
    ['ES256 key used as SM2', jws(partner, { alg: 'SM2', typ: 'JWT', kid: partner.kid }, partnerCard()), 'ALGORITHM_NOT_ALLOWED'],
    ['own card revoked in the status list', jws(own, ownHeader(), ownCard(3)), 'REVOKED'],
    ['own card suspended in the status list', jws(own, ownHeader(), ownCard(4)), 'SUSPENDED'],
    ['own card past the status list', jws(own, ownHeader(), ownCard(1000)), 'REVOKED'],
    ['partner card revoked', jws(partner, partnerHeader, partnerCard({ status: { status_list: { idx: 2 } } })), 'REVOKED'],
    ['partner idx outside its list', jws(partner, partnerHeader, partnerCard({ status: { status_list: { idx: 4096 } } })), 'REVOKED'],
    ['expired', jws(own, ownHeader(), ownCard(5, { exp: at - 3600, nbf: at - 7200, iat: at - 7200 })), 'EXPIRED'],
    ['not yet valid', jws(own, ownHeader(), ownCard(6, { nbf: at + 3600, iat: at - 10 })), 'NOT_YET_VALID'],
    ['exp before nbf', jws(own, ownHeader(), ownCard(7, { nbf: at + 10, exp: at + 5 })), 'MALFORMED'],
    ['own card without idx', jws(own, ownHeader(), ownCard(8, { status: undefined })), 'MALFORMED'],
    ['exp not an integer', jws(own, ownHeader(), ownCard(9, { exp: String(at + 3600) })), 'MALFORMED'],
    ['card number with a bad check character', jws(own, ownHeader(), ownCard(10, { sub: badCheck })), 'MALFORMED'],
    ['tier not in the agreement', jws(partner, partnerHeader, partnerCard({ level: 'F' })), 'MALFORMED'],
    ['bad signature', `${oh}.${op}.${b64(Buffer.alloc(64, 1))}`, 'BAD_SIGNATURE'],
    ['signed by another key under an own kid', jws(other, ownHeader(), ownCard(11)), 'BAD_SIGNATURE'],
    ['unknown issuer', jws(own, ownHeader(), ownCard(12, { iss: 'urn:cn:000000:nobody' })), 'UNKNOWN_ISSUER'],
    ['unknown kid', jws(other, ownHeader(other), ownCard(13)), 'UNKNOWN_KEY'],
    ['no kid', jws(own, { alg: 'EdDSA', typ: 'talent-card+jwt' }, ownCard(13)), 'UNKNOWN_KEY'],
    ['own key revoked', jws(ownRevoked, ownHeader(ownRevoked), ownCard(14)), 'KEY_REVOKED'],
    ['partner key revoked', jws(partnerRevoked, { ...partnerHeader, kid: partnerRevoked.kid }, partnerCard()), 'KEY_REVOKED'],
    ['wrong typ', jws(own, ownHeader(own, { typ: 'JWT' }), ownCard(15)), 'WRONG_TYPE'],
    ['jku header', jws(own, ownHeader(own, { jku: 'https://evil.test/' }), ownCard(16)), 'UNSUPPORTED_HEADER'],
    ['alg none', `${enc({ alg: 'none', typ: 'talent-card+jwt' })}.${op}.`, 'ALGORITHM_NOT_ALLOWED'],
    ['ES256 under the own profile', jws(partner, { alg: 'ES256', typ: 'talent-card+jwt', kid: partner.kid }, ownCard(17)), 'ALGORITHM_NOT_ALLOWED'],
    ['suspended partner', jws(partner, partnerHeader, partnerCard({ iss: SUSPENDED })), 'PARTNER_SUSPENDED'],
    ['stale partner', jws(partner, partnerHeader, partnerCard({ iss: STALE })), 'STALE_TRUST_DATA'],
    ['cnf without jwk', jws(own, ownHeader(), ownCard(18, { cnf: { jkt: 'x' } })), 'HOLDER_PROOF_INVALID'],
    ['bound to a holder key', jws(own, ownHeader(), ownCard(19, { cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: holderX } } })), 'OK'],
    ['a member given twice', jws(own, ownHeader(), `{"iss":"${OWN}","iss":"${OWN}"}`), 'MALFORMED'],
    ['not a token', 'NCTC1:not-a-card', 'MALFORMED'],
    ['larger than 8 KiB', `NCTC1:${ownOk}${'A'.repeat(8192)}`, 'MALFORMED'],
  ].map(([name, credential, reason]) => ({ name, credential, expected: { reason } }));
  return { trust: JSON.stringify(trust), bundle, tampered, vectors: { at, cases } };
}
