// The counter page offline, in Debian's Chromium (headless) against a running gateway.
// Env: GATEWAY_URL, GATEWAY_PID (killed here, mid-test), CARDS (JSON [{name, credential,
// card_id?}]), COUNTER_TOKEN, VECTORS_DIR (tests/vectors),
// SCREENSHOT_DIR, CHROMIUM. Exits non-zero, saying why, on the first failure.
// Started by tests/api/counter_page.rs.
//
// 1. Online: the page fetches the gateway's offline bundle and keeps it (IndexedDB); every card
//    is verified by the gateway, and its verdict noted.
// 2. The gateway is killed. The same cards, verified again: the page decides them from the
//    bundle with the same reasons, says "offline, trust data of HH:MM", and its redeem buttons
//    are disabled and say that redemption needs the gateway; a click sends nothing.
// 3. Still offline, in the page: offline.js opens the shared vectors' bundle under its trust
//    and gives every case what it expects (every member of `expected`) at the case's `at` or
//    vectors.json's, refuses the tampered bundle, and answers STALE_TRUST_DATA past the
//    bundle's exp; the same for a bundle made here in Node (bundle-fixture.mjs), which also
//    rolls forward under itself.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { create, Federation, toBinary } from '../../web/gen/talentcard.js';
import { makeFixture } from './bundle-fixture.mjs';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env('GATEWAY_URL');
const pid = Number(env('GATEWAY_PID'));
const cards = JSON.parse(env('CARDS'));
const token = env('COUNTER_TOKEN');
const shots = env('SCREENSHOT_DIR');
const vectorsDir = process.env.VECTORS_DIR;
const T = { timeout: 15000 };

/** The shared vectors (tests/vectors/README.md). */
function sharedVectors() {
  if (!vectorsDir || !existsSync(join(vectorsDir, 'vectors.json'))) throw new Error(`no vectors.json in ${vectorsDir}`);
  const read = (f) => readFileSync(join(vectorsDir, f), 'utf8');
  const vectors = JSON.parse(read('vectors.json'));
  return {
    trust: read(vectors.trust),
    bundle: read(vectors.bundle),
    tampered: read(vectors.tampered_bundle),
    vectors,
  };
}

/**
 * In the page, with offline.js: opens `set`'s bundle under its trust, verifies every case at
 * its `at`, tries the tampered bundle, and one case past exp. Returns what it found.
 */
function runInPage(page, set) {
  return page.evaluate(async ({ trust, bundle, tampered, vectors }) => {
    const m = await import('/offline.js');
    const opened = await m.openBundle(bundle, await m.parseAnchor(trust));
    const verdicts = [];
    for (const c of vectors.cases) {
      const v = await m.verifyOffline(opened, c.credential, c.at ?? vectors.at, 'en');
      // RFC 3339 at +08:00, as `talent-gateway verify --json` prints it.
      const seconds = v.expiresAt ? Number(v.expiresAt.seconds) : 0;
      const expires = seconds ? `${new Date((seconds + 8 * 3600) * 1000).toISOString().slice(0, 19)}+08:00` : '';
      verdicts.push({
        name: c.name,
        expected: c.expected,
        got: {
          reason: v.reason,
          valid: v.valid,
          card_id: v.cardId,
          holder_name: v.holderName,
          native_tier: v.nativeTier,
          recognised_tier: v.recognisedTier,
          issuer_region: v.issuerRegion,
          expires_at: expires,
          catalogue_version: v.catalogueVersion,
          holder_key: v.holderKey ?? null,
          detail: v.detail,
        },
      });
    }
    let tamperedError = null;
    try {
      await m.openBundle(tampered, await m.parseAnchor(trust));
    } catch (e) {
      tamperedError = `${e.name}: ${e.message}`;
    }
    const first = vectors.cases.find((c) => c.expected.reason === 'OK') ?? vectors.cases[0];
    const stale = await m.verifyOffline(opened, first.credential, opened.claims.exp + 1, 'en');
    // Roll forward: a bundle opens under itself as the anchor (its own issuer's keys).
    let rolled = true;
    try {
      await m.openBundle(bundle, await m.parseAnchor(bundle));
    } catch (e) {
      rolled = e.message;
    }
    return { verdicts, tamperedError, stale: stale.reason, rolled };
  }, set);
}

/** Every expected field a case names (snake_case or camelCase) matches what the page found. */
function checkSet(label, found) {
  const mismatches = [];
  for (const { name, expected, got } of found.verdicts) {
    for (const [k, want] of Object.entries(expected)) {
      const key = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      if (key === 'detail') continue;
      if (!(key in got)) {
        mismatches.push(`${name}: ${key} is not a member the page knows`);
        continue;
      }
      const same = (a, b) => JSON.stringify(a, Object.keys(a ?? {}).sort()) === JSON.stringify(b, Object.keys(b ?? {}).sort());
      if (!same(got[key], want)) mismatches.push(`${name}: ${key} ${JSON.stringify(got[key])}, expected ${JSON.stringify(want)} (${got.detail})`);
    }
  }
  assert.deepEqual(mismatches, [], `${label}: offline verdicts differ from the expected ones`);
  assert.ok(found.verdicts.length > 0, `${label}: no cases`);
  assert.match(found.tamperedError ?? '', /BundleError/, `${label}: the tampered bundle opened`);
  assert.equal(found.stale, 'STALE_TRUST_DATA', `${label}: past exp`);
  assert.equal(found.rolled, true, `${label}: the bundle does not open under itself`);
  console.log(`${label}: ${found.verdicts.length} cases as expected; tampered bundle refused (${found.tamperedError}); past exp STALE_TRUST_DATA`);
}

/** A gRPC-Web answer (one message, then trailers saying OK) as a gateway would send it. */
function grpcWebAnswer(schema, message) {
  const frame = (flag, bytes) => {
    const head = Buffer.alloc(5);
    head[0] = flag;
    head.writeUInt32BE(bytes.length, 1);
    return Buffer.concat([head, Buffer.from(bytes)]);
  };
  return Buffer.concat([
    frame(0, toBinary(schema, create(schema, message))),
    frame(0x80, Buffer.from('grpc-status:0\r\ngrpc-message:\r\n')),
  ]);
}

const profile = mkdtempSync(join(tmpdir(), 'counter-offline-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  ignoreHTTPSErrors: true,
  viewport: { width: 1000, height: 1100 },
  locale: 'zh-CN',
});

const problems = [];
// From the first refused call on, the browser's reports of refused connections are expected.
let refusals = false;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (refusals && /ERR_CONNECTION_REFUSED|Failed to load resource|Failed to fetch/.test(m.text())) return;
    problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  let redeemCalls = 0;
  page.on('request', (r) => {
    if (r.url().endsWith('/talentcard.v1.Entitlements/RedeemService')) redeemCalls += 1;
  });

  // 1. Online: the bundle is fetched, opened under the gateway's JWKS and kept.
  await page.goto(url, { waitUntil: 'load' });
  await page.locator('#trust-status[data-iat]:not([data-iat=""])').waitFor(T).catch((e) => {
    throw new Error(`the page kept no offline bundle from the gateway (GetOfflineBundle): ${e.message}`);
  });
  assert.match(await page.textContent('#trust-status'), /离线信任数据时间 \d\d:\d\d/);
  const kept = await page.evaluate(async () => (await import('/offline/store.js')).loadTrust());
  assert.equal(kept.bundle.split('.').length, 3, 'the bundle is kept in IndexedDB');
  assert.match(kept.anchor, /^\{/, 'the first bundle is kept with the JWKS it opened under');
  // Kept across a reload: with GetOfflineBundle failing, the page opens the kept bundle again.
  const iat = await page.getAttribute('#trust-status', 'data-iat');
  refusals = true;
  await page.route('**/talentcard.v1.Federation/*', (r) => r.abort('connectionrefused'));
  await page.reload({ waitUntil: 'load' });
  await page.locator(`#trust-status[data-iat="${iat}"]`).waitFor(T);
  await page.unroute('**/talentcard.v1.Federation/*');
  // A bundle that does not open under the kept one (another signer) is not kept, and the page
  // says why.
  const impostor = makeFixture();
  await page.route('**/talentcard.v1.Federation/GetOfflineBundle', (r) => r.fulfill({
    status: 200,
    headers: { 'content-type': 'application/grpc-web+proto' },
    body: grpcWebAnswer(Federation.method.getOfflineBundle.output, { bundle: impostor.bundle }),
  }));
  await page.reload({ waitUntil: 'load' });
  await page.locator('#trust-status.error', { hasText: '新的信任数据未通过校验，未保存: unknown kid' }).waitFor(T);
  assert.equal(await page.getAttribute('#trust-status', 'data-iat'), iat, 'the kept bundle was replaced');
  const still = await page.evaluate(async () => (await import('/offline/store.js')).loadTrust());
  assert.equal(still.bundle, kept.bundle, 'a bundle that does not open was kept');
  await page.unroute('**/talentcard.v1.Federation/GetOfflineBundle');
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
  await page.locator('#token-status', { hasText: 'desk-1' }).waitFor(T);

  const read = async () => ({
    reason: await page.getAttribute('#verdict', 'data-reason'),
    card: (await page.locator('#card-no').isVisible()) ? await page.textContent('#card-no') : '',
    holder: (await page.locator('#card-name').isVisible()) ? await page.textContent('#card-name') : '',
    facts: await page.locator('#facts dd').evaluateAll((dds) => dds.map((d) => `${d.dataset.fact}=${d.textContent}`)),
    services: await page.locator('#services li[data-code]').evaluateAll((lis) => lis.map((li) => li.dataset.code)),
  });
  const verifyCard = async (credential, before) => {
    await page.fill('#payload', credential);
    await page.click('#verify');
    // The next verdict: the reason attribute changes or the same one is drawn again.
    await page.waitForFunction((prev) => {
      const v = document.getElementById('verdict');
      return v && v.dataset.reason && v.dataset.stamp !== prev;
    }, before, T);
  };
  // Each verdict drawn gets a stamp here, so a test can tell a new one from the old.
  await page.evaluate(() => {
    let n = 0;
    new MutationObserver(() => {
      document.getElementById('verdict').dataset.stamp = String(++n);
    }).observe(document.getElementById('verdict'), { childList: true });
  });
  const stamp = () => page.getAttribute('#verdict', 'data-stamp');

  const online = [];
  for (const c of cards) {
    await verifyCard(c.credential, await stamp());
    assert.equal(await page.locator('#offline-note').isVisible(), false);
    online.push(await read());
  }
  console.log(`online: ${online.map((v, i) => `${cards[i].name} ${v.reason}`).join(', ')}`);
  assert.equal(online[0].reason, 'OK');
  assert.equal(online[0].card, cards[0].card_id);

  // 2. The gateway is killed: the page decides from the bundle.
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50; i += 1) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 100));
    } catch {
      break;
    }
  }
  const offline = [];
  for (const c of cards) {
    await verifyCard(c.credential, await stamp());
    await page.locator('#offline-note', { hasText: /离线核验，信任数据时间 \d\d:\d\d/ }).waitFor(T);
    offline.push(await read());
  }
  console.log(`offline: ${offline.map((v, i) => `${cards[i].name} ${v.reason}`).join(', ')}`);
  assert.deepEqual(offline, online, 'the offline verdicts differ from the gateway\'s');

  // The own valid card once more: shown valid, with its services, none redeemable.
  await verifyCard(cards[0].credential, await stamp());
  await page.locator('#verdict.ok').waitFor(T);
  const buttons = page.locator('#services button.redeem');
  assert.ok((await buttons.count()) > 0, 'no services shown offline');
  for (const b of await buttons.all()) {
    assert.equal(await b.isDisabled(), true, 'a redeem button is enabled offline');
    assert.equal(await b.textContent(), '核销需连接网关');
  }
  await buttons.first().click({ force: true });
  await page.waitForTimeout(500);
  assert.equal(redeemCalls, 0, 'a redemption was sent offline');
  await page.screenshot({ path: join(shots, 'offline.png'), fullPage: true });
  // English too.
  await page.click('#lang');
  await page.locator('#offline-note', { hasText: /offline, trust data of \d\d:\d\d/ }).waitFor(T);
  assert.equal(await buttons.first().textContent(), 'Redemption needs the gateway');

  // 3. The vectors, in the browser, with the gateway gone.
  checkSet('tests/vectors', await runInPage(page, sharedVectors()));
  const fixture = makeFixture();
  checkSet('Node-made bundle', await runInPage(page, fixture));

  assert.deepEqual(problems, [], 'the page logged errors');
  console.log('counter page offline: bundle kept, same reasons offline, redemption refused, vectors OK');
} catch (e) {
  console.error(`offline counter page test failed: ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
