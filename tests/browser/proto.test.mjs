// The counter page's generated code (web/gen/talentcard.js, from proto/ by proto/check) under
// Node (node --test): the bytes it writes are the ones the contract defines, and its gRPC-Web
// client talks to a real gateway. The browser test (counter.test.mjs) drives the page itself.
// Env for the calls (set by tests/api/counter_page.rs): GATEWAY_URL, CARD_PAYLOAD, CARD_ID,
// and NODE_EXTRA_CA_CERTS (the gateway's development CA); without GATEWAY_URL they fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Code, ConnectError, create, createClient, createGrpcWebTransport, Entitlements,
  fromBinary, RedeemServiceRequestSchema, RedeemServiceResponseSchema, toBinary, Verification,
  VerifyCardRequestSchema, VerifyCardResponseSchema,
} from '../../web/gen/talentcard.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const unhex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));

test('strings are length-delimited fields by their proto numbers, defaults left out', () => {
  const req = create(VerifyCardRequestSchema, { credential: 'ab', holderProof: '', language: 'en' });
  assert.equal(hex(toBinary(VerifyCardRequestSchema, req)), '0a0261621a02656e');
  assert.equal(hex(toBinary(VerifyCardRequestSchema, create(VerifyCardRequestSchema, { credential: '卡' }))), '0a03e58da1');
  const redeem = create(RedeemServiceRequestSchema, { credential: 't', serviceCode: 'CQ12', idempotencyKey: 'k' });
  assert.equal(hex(toBinary(RedeemServiceRequestSchema, redeem)), '0a01741204435131321a016b');
});

test('int64 -1 (unlimited) is ten bytes on the wire and -1 back', () => {
  // The bytes prost writes for RedeemServiceResponse { redemption_id: "x", remaining: -1 }.
  const bytes = unhex('0a017810ffffffffffffffffff01');
  const res = fromBinary(RedeemServiceResponseSchema, bytes);
  assert.equal(res.redemptionId, 'x');
  assert.equal(res.remaining, -1n);
  assert.equal(res.periodEnd, undefined);
  assert.equal(hex(toBinary(RedeemServiceResponseSchema, res)), hex(bytes));
});

test('a verdict from a newer gateway decodes: nested, repeated, unknown fields skipped', () => {
  const verdict = create(VerifyCardResponseSchema, {
    valid: true,
    reason: 'OK',
    cardId: 'CQ2026000001',
    expiresAt: { seconds: 1798732800n },
    entitlements: [
      { serviceCode: 'CQ12', nameZh: '交通出行', nameEn: 'Airport / rail priority', basis: 'home', quota: 'per_year 6' },
      { serviceCode: 'CQ05', basis: 'local_only', reason: '仅限本地' },
    ],
    holderName: '张政昊',
  });
  const bytes = toBinary(VerifyCardResponseSchema, verdict);
  // Field 99 (varint) and field 98 (bytes), as a later version of the contract might add.
  const newer = Uint8Array.from([...bytes, 0x98, 0x06, 0x01, 0x92, 0x06, 0x01, 0x00]);
  const back = fromBinary(VerifyCardResponseSchema, newer);
  assert.equal(back.valid, true);
  assert.equal(back.holderName, '张政昊');
  assert.equal(back.expiresAt.seconds, 1798732800n);
  assert.equal(back.entitlements.length, 2);
  assert.equal(back.entitlements[0].nameEn, 'Airport / rail priority');
  assert.equal(back.entitlements[1].reason, '仅限本地');
  assert.equal(back.entitlements[1].name, '');
  assert.equal(back.recognisedTier, '');
});

test('truncated input is an error, not a wrong answer', () => {
  assert.throws(() => fromBinary(VerifyCardRequestSchema, Uint8Array.from([0x0a, 0x05, 0x61])));
});

test('the gRPC-Web client verifies a card at the gateway and reads its refusals', async () => {
  const url = process.env.GATEWAY_URL;
  assert.ok(url, 'GATEWAY_URL is not set (tests/api/counter_page.rs sets it)');
  const transport = createGrpcWebTransport({ baseUrl: url, useBinaryFormat: true });

  const verdict = await createClient(Verification, transport)
    .verifyCard({ credential: process.env.CARD_PAYLOAD, language: 'en' });
  assert.equal(verdict.valid, true, `${verdict.reason} ${verdict.detail}`);
  assert.equal(verdict.cardId, process.env.CARD_ID);
  assert.equal(verdict.issuerRegion, 'chongqing');
  assert.ok(verdict.expiresAt.seconds > BigInt(Math.floor(Date.now() / 1000)));
  const cq12 = verdict.entitlements.find((e) => e.serviceCode === 'CQ12');
  assert.equal(cq12?.name, 'Airport / rail priority');

  // Redeeming needs a counter: UNAUTHENTICATED, its message as the gateway wrote it.
  const redeem = createClient(Entitlements, transport)
    .redeemService({ credential: process.env.CARD_PAYLOAD, serviceCode: 'CQ12', idempotencyKey: 'node-1' });
  const err = await redeem.then(() => null, (e) => ConnectError.from(e));
  assert.ok(err, 'redeemed without a counter token');
  assert.equal(err.code, Code.Unauthenticated, `${err.code} ${err.rawMessage}`);
  assert.ok(err.rawMessage.length > 0);

  // A token that is not one: UNAUTHENTICATED too, sent as the page sends it.
  const bad = await createClient(Entitlements, transport)
    .redeemService(
      { credential: process.env.CARD_PAYLOAD, serviceCode: 'CQ12', idempotencyKey: 'node-2' },
      { headers: { authorization: 'Bearer not-a-token' } },
    )
    .then(() => null, (e) => ConnectError.from(e));
  assert.equal(bad?.code, Code.Unauthenticated, `${bad?.code} ${bad?.rawMessage}`);
});
