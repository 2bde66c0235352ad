// End-to-end: Debian's Chromium (headless) against a running gateway's counter page.
// Env: GATEWAY_URL, CARD_PAYLOAD, CARD_ID, HOLDER_NAME, VISITOR_PAYLOAD (a Science City card,
// tier E), COUNTER_TOKEN, SCREENSHOT_DIR,
// FAKE_CAMERA (a Y4M video of the card's QR code), CHROMIUM (default /usr/bin/chromium). Exits non-zero, saying why, on the first failure.
// Started by tests/api/counter_page.rs, which also checks the database afterwards.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env('GATEWAY_URL');
const payload = env('CARD_PAYLOAD');
const cardId = env('CARD_ID');
const holder = env('HOLDER_NAME');
const visitor = env('VISITOR_PAYLOAD');
const token = env('COUNTER_TOKEN');
const shots = env('SCREENSHOT_DIR');
const camera = env('FAKE_CAMERA');
const T = { timeout: 15000 };

const profile = mkdtempSync(join(tmpdir(), 'counter-page-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // The camera shows the card's QR code; no permission prompt.
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${camera}`,
  ],
  permissions: ['camera'],
  // The gateway's certificate is from its development CA.
  ignoreHTTPSErrors: true,
  viewport: { width: 1000, height: 1100 },
  locale: 'zh-CN',
});

const problems = [];
// The one network error the test causes on purpose (a lost answer) is not a problem.
let lossSimulated = false;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (lossSimulated && m.text().includes('ERR_CONNECTION_RESET')) return;
    problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  let redeemCalls = 0;
  page.on('request', (r) => {
    if (r.url().endsWith('/talentcard.v1.Entitlements/RedeemService')) redeemCalls += 1;
  });

  const res = await page.goto(url, { waitUntil: 'load' });
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'], /default-src 'self'/);
  await page.locator('h1', { hasText: '人才卡服务窗口' }).waitFor(T);

  // Sign in as the counter.
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
  await page.locator('#token-status', { hasText: 'desk-1' }).waitFor(T);

  // Paste the card's QR payload: valid, the holder, tiers, the services.
  await page.fill('#payload', payload);
  await page.click('#verify');
  await page.locator('#verdict.ok').waitFor(T);
  assert.match(await page.textContent('#verdict'), /有效/);
  assert.equal(await page.textContent('#card-name'), holder);
  assert.equal(await page.textContent('#card-no'), cardId);
  assert.equal(await page.textContent('[data-fact=homeRegion]'), '重庆');
  assert.equal(await page.textContent('[data-fact=nativeTier]'), 'B');
  assert.equal(await page.textContent('[data-fact=recognisedTier]'), 'B');
  const row = page.locator('#services li[data-code=CQ12]');
  await row.waitFor(T);
  assert.match(await row.textContent(), /交通出行/);
  assert.match(await row.textContent(), /Airport/);
  await page.screenshot({ path: join(shots, 'verdict.png'), fullPage: true });

  // Redeem once: one call, the allowance left is shown.
  await row.locator('button.redeem').click();
  await row.locator('.outcome.ok', { hasText: '本期剩余 5' }).waitFor(T);
  assert.equal(redeemCalls, 1);

  // A double-click is one redemption: the button is disabled by the first click.
  await row.locator('button.redeem').dblclick();
  await row.locator('.outcome.ok', { hasText: '本期剩余 4' }).waitFor(T);
  await page.waitForTimeout(1000);
  assert.equal(redeemCalls, 2, 'a double-click sent more than one RedeemService');
  assert.match(await row.locator('.outcome').textContent(), /本期剩余 4/);
  await page.screenshot({ path: join(shots, 'redeemed.png'), fullPage: true });

  // The answer to a redemption is lost on the way back: the retry is the same click, same
  // idempotency key, so the gateway answers with the first result and counts it once.
  const bodies = [];
  await page.route('**/talentcard.v1.Entitlements/RedeemService', async (route) => {
    bodies.push(route.request().postDataBuffer().toString('hex'));
    if (bodies.length === 1) {
      await route.fetch();
      lossSimulated = true;
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  const health = page.locator('#services li[data-code=CQ10]');
  await health.locator('button.redeem').click();
  await health.locator('.outcome.bad').waitFor(T);
  assert.equal(await health.locator('button.redeem').textContent(), '重试');
  await health.locator('button.redeem').click();
  await health.locator('.outcome.ok', { hasText: '本期剩余 0' }).waitFor(T);
  assert.equal(bodies.length, 2);
  assert.equal(bodies[0], bodies[1], 'the retry sent a different request (key)');
  await page.unroute('**/talentcard.v1.Entitlements/RedeemService');
  lossSimulated = false;
  // A new click is a new redemption: the year's one health check is used up.
  await health.locator('button.redeem').click();
  await health.locator('.outcome.bad', { hasText: '额度已用完' }).waitFor(T);

  // The district's schemes: a class-B card's annuity a year, the youth station's stages.
  const annuity = page.locator('#services li[data-code=CQ16]');
  assert.match(await annuity.textContent(), /每年 8,000 元/);
  const station = page.locator('#services li[data-code=CQ17]');
  assert.match(await station.textContent(), /免费 90 天，之后 半价 90 天/);
  assert.match(await page.locator('#services li[data-code=CQ18]').textContent(), /最多 84,000 元/);
  // No figure, no call: the clerk is asked for one.
  await annuity.locator('button.redeem').click();
  await annuity.locator('.outcome.bad', { hasText: '请输入' }).waitFor(T);
  assert.equal(redeemCalls, 5);
  await annuity.locator('input.draw').fill('5000');
  await annuity.locator('button.redeem').click();
  await annuity.locator('.outcome.ok', { hasText: '本期剩余 3,000 元' }).waitFor(T);
  assert.equal(await annuity.locator('input.draw').inputValue(), '', 'a drawn figure is not drawn again');
  // More than is left: refused, and the gateway says what is left.
  await annuity.locator('input.draw').fill('5000');
  await annuity.locator('button.redeem').click();
  await annuity.locator('.outcome.bad', { hasText: '额度已用完' }).waitFor(T);
  assert.match(await annuity.locator('.outcome').textContent(), /3,000 yuan left/);
  await station.locator('input.draw').fill('10');
  await station.locator('button.redeem').click();
  await station.locator('.outcome.ok', { hasText: '本期剩余 170 天' }).waitFor(T);
  assert.match(await station.locator('.outcome').textContent(), /免费 10 天/);
  assert.equal(await page.locator('#services li[data-code=CQ12] input.draw').count(), 0, 'counted services take no figure');
  assert.equal(redeemCalls, 8);
  await page.screenshot({ path: join(shots, 'amounts.png'), fullPage: true });

  // English on request.
  await page.click('#lang');
  await page.locator('#verdict', { hasText: 'VALID' }).waitFor(T);
  await page.locator('#services li[data-code=CQ12]', { hasText: 'Airport / rail priority' }).waitFor(T);
  assert.match(await page.locator('#services li[data-code=CQ16]').textContent(), /8,000 yuan a year/);
  assert.match(await page.locator('#services li[data-code=CQ17]').textContent(), /90 days free, then 90 days at half price/);
  assert.equal(await page.textContent('[data-fact=homeRegion]'), 'Chongqing');

  // A visitor from Mianyang: recognised tier, usable services, the rest apart with reasons.
  await page.click('#lang');
  await page.locator('#verdict', { hasText: '有效' }).waitFor(T);
  await page.fill('#payload', visitor);
  await page.click('#verify');
  await page.locator('#card.mianyang').waitFor(T);
  assert.equal(await page.textContent('#card-title'), '科技城人才卡');
  assert.equal(await page.textContent('[data-fact=homeRegion]'), '绵阳');
  assert.equal(await page.textContent('[data-fact=nativeTier]'), 'E');
  assert.equal(await page.textContent('[data-fact=recognisedTier]'), 'F');
  const usable = await page.locator('#services li').evaluateAll((lis) => lis.map((li) => li.dataset.code));
  assert.deepEqual(usable, ['CQ01', 'CQ13']);
  const apartment = page.locator('#info-only li[data-code=CQ05]');
  assert.match(await apartment.textContent(), /仅限本地人才/);
  assert.match(await page.locator('#info-only li[data-code=CQ10]').textContent(), /等级未达到/);
  assert.equal(await apartment.locator('button').count(), 0, 'information-only lines cannot be redeemed');
  await page.screenshot({ path: join(shots, 'visitor.png'), fullPage: true });

  // A card that is not one: invalid, and why, in plain words.
  await page.fill('#payload', 'NCTC1:not-a-card');
  await page.click('#verify');
  await page.locator('#verdict.bad').waitFor(T);
  assert.match(await page.textContent('#verdict'), /无效/);
  assert.match(await page.textContent('#verdict'), /无法识别/);
  await page.screenshot({ path: join(shots, 'invalid.png'), fullPage: true });

  // The camera reads the card (jsQR where the browser has no BarcodeDetector) and verifies it.
  await page.fill('#payload', '');
  await page.click('#camera');
  await page.locator('#verdict.ok').waitFor({ timeout: 30000 });
  assert.equal(await page.inputValue('#payload'), payload);
  assert.equal(await page.textContent('#card-no'), cardId);
  assert.equal(await page.locator('#video').isHidden(), true, 'the camera is stopped after a read');
  const decoder = await page.evaluate(() => (typeof window.jsQR === 'function' ? 'jsQR' : 'BarcodeDetector'));
  console.log(`camera read by ${decoder}`);

  // A token the gateway refuses: UNAUTHENTICATED, shown with the gateway's own reason, and
  // nothing is redeemed.
  await page.fill('#token', 'not-a-token');
  await page.click('#token-form button[type=submit]');
  await page.locator('#token-status', { hasText: '这不是窗口凭证' }).waitFor(T);
  await page.locator('#services li[data-code=CQ12] button.redeem').click();
  const refused = page.locator('#services li[data-code=CQ12] .outcome.bad', { hasText: '窗口凭证无效' });
  await refused.waitFor(T);
  assert.match(await refused.textContent(), /^窗口凭证无效、已过期或已吊销: .*counter token/, 'the gateway\'s reason is shown');
  assert.equal(redeemCalls, 9);

  assert.deepEqual(problems, [], 'the page logged errors');
  console.log('counter page: verdicts, redemption, double-click, retry with the same key, amounts and stays, visitor, languages, camera, refused token OK');
} catch (e) {
  console.error(`counter page test failed: ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
