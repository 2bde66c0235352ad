// Unit tests of the counter page's protobuf codec and gRPC-Web framing (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decode, encode, RedeemServiceRequest, RedeemServiceResponse, VerifyCardRequest, VerifyCardResponse,
} from '../../web/proto.js';
import { frame, unframe } from '../../web/grpc-web.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex');

test('strings encode as length-delimited fields, defaults are left out', () => {
  assert.equal(hex(encode(VerifyCardRequest, { credential: 'ab', holder_proof: '', language: 'en' })), '0a0261621a02656e');
  assert.equal(hex(encode(VerifyCardRequest, { credential: '卡' })), '0a03e58da1');
});

test('int64 -1 (unlimited) survives a round trip as ten bytes', () => {
  const bytes = encode(RedeemServiceResponse, { redemption_id: 'x', remaining: -1 });
  assert.equal(hex(bytes), '0a017810ffffffffffffffffff01');
  assert.deepEqual(decode(RedeemServiceResponse, bytes), {
    redemption_id: 'x', remaining: -1, period_end: null, catalogue_version: '',
  });
});

test('nested and repeated messages decode, unknown fields are skipped', () => {
  const verdict = {
    valid: true,
    reason: 'OK',
    card_id: 'CQ2026000001',
    expires_at: { seconds: 1798732800, nanos: 0 },
    entitlements: [
      { service_code: 'CQ12', name_zh: '交通出行', name_en: 'Airport / rail priority', basis: 'home', quota: 'per_year 6' },
      { service_code: 'CQ05', basis: 'local_only', reason: '仅限本地' },
    ],
    holder_name: '张政昊',
  };
  const bytes = encode(VerifyCardResponse, verdict);
  // Field 99 (varint) and field 98 (bytes) from a newer gateway.
  const newer = Uint8Array.from([...bytes, 0x98, 0x06, 0x01, 0x92, 0x06, 0x01, 0x00]);
  const back = decode(VerifyCardResponse, newer);
  assert.equal(back.valid, true);
  assert.equal(back.holder_name, '张政昊');
  assert.equal(back.expires_at.seconds, 1798732800);
  assert.equal(back.entitlements.length, 2);
  assert.equal(back.entitlements[0].name_en, 'Airport / rail priority');
  assert.equal(back.entitlements[1].reason, '仅限本地');
  assert.equal(back.entitlements[1].name, '');
  assert.equal(back.recognised_tier, '');
});

test('a redeem request carries its idempotency key', () => {
  const bytes = encode(RedeemServiceRequest, { credential: 't', service_code: 'CQ12', idempotency_key: 'k' });
  assert.deepEqual(decode(RedeemServiceRequest, bytes), {
    credential: 't', service_code: 'CQ12', idempotency_key: 'k', holder_proof: '',
  });
});

test('grpc-web frames: message then trailers', () => {
  const msg = frame(Uint8Array.from([1, 2, 3]));
  assert.equal(hex(msg), '0000000003010203');
  const trailerText = new TextEncoder().encode('grpc-status:0\r\ngrpc-message:all%20good\r\n');
  const trailer = new Uint8Array(5 + trailerText.length);
  trailer[0] = 0x80;
  new DataView(trailer.buffer).setUint32(1, trailerText.length);
  trailer.set(trailerText, 5);
  const { message, trailers } = unframe(Uint8Array.from([...msg, ...trailer]));
  assert.equal(hex(message), '010203');
  assert.equal(trailers['grpc-status'], '0');
  assert.equal(trailers['grpc-message'], 'all%20good');
});

test('truncated input is an error, not a wrong answer', () => {
  assert.throws(() => decode(VerifyCardRequest, Uint8Array.from([0x0a, 0x05, 0x61])));
});
