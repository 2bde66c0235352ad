// The counter page: read a card, show the verdict and the services, redeem with one click.

import {
  Code, ConnectError, createClient, createGrpcWebTransport, Entitlements, Federation, Verification,
} from './gen/talentcard.js';
import { BASIS, CARD_TITLES, REASONS, REGIONS, TEXT, t } from './i18n.js';
import { openBundle, parseAnchor, verifyOffline } from './offline.js';
import { loadTrust, saveTrust } from './offline/store.js';
import { scan } from './scan.js';

const $ = (id) => document.getElementById(id);
const USABLE = new Set(['home', 'host_standard']);

const state = {
  lang: sessionStorage.getItem('lang') || 'zh',
  token: sessionStorage.getItem('counterToken') || '',
  credential: '',
  verdict: null,
  // Per service code: { key, busy, outcome } — `key` survives a failed attempt so that a
  // retry of that click is the same redemption, never a second one.
  redeem: new Map(),
  stopCamera: null,
  // Only the answer to the latest VerifyCard is shown (a language switch re-asks).
  verifySeq: 0,
  // The latest offline bundle, opened (offline.js), and why the last one fetched was not kept.
  trust: null,
  trustProblem: '',
  // The verdict shown was decided here from the bundle: the gateway could not be reached.
  offline: false,
};

const tx = (key) => t(TEXT, key, state.lang);

// gRPC-Web (application/grpc-web+proto) to the gateway that served the page. A call that
// never reached it is UNAVAILABLE: its outcome is unknown, so the same click may be retried.
const transport = createGrpcWebTransport({
  baseUrl: location.origin,
  useBinaryFormat: true,
  fetch: (input, init) => fetch(input, init).catch((e) => {
    throw new ConnectError(`network: ${e.message}`, Code.Unavailable);
  }),
});
const verification = createClient(Verification, transport);
const entitlements = createClient(Entitlements, transport);
const federation = createClient(Federation, transport);

/** The counter token, when there is one, as the gateway expects it. */
const auth = () => ({ headers: state.token ? { authorization: `Bearer ${state.token}` } : {} });

/** int64 fields and Timestamp seconds arrive as BigInt; the page's figures are small. */
const num = (v) => (v === undefined ? undefined : Number(v));

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function date(seconds) {
  if (!seconds) return '—';
  return new Date(seconds * 1000).toLocaleDateString(state.lang === 'en' ? 'en-GB' : 'zh-CN', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  });
}

function quotaText(quota) {
  const [kind, n] = (quota || '').split(/\s+/);
  const zh = state.lang !== 'en';
  switch (kind) {
    case 'unlimited': return zh ? '不限次数' : 'unlimited';
    case 'per_year': return zh ? `每年 ${n} 次` : `${n} per year`;
    case 'once': return zh ? '限一次' : 'once';
    case 'per_event': return zh ? '按事项办理' : 'per event';
    case 'external': return zh ? '由合作机构决定' : 'decided by the provider';
    default: return quota || '';
  }
}

/** 8000 as "8,000". */
const grouped = (n) => Number(n).toLocaleString('en-US');

/** A figure in its unit: "3,000 元", "85 天", or a bare count of uses. */
function inUnit(unit, n) {
  const zh = state.lang !== 'en';
  if (unit === 'yuan') return zh ? `${grouped(n)} 元` : `${grouped(n)} yuan`;
  if (unit === 'days') return zh ? `${n} 天` : `${n} days`;
  return `${n}`;
}

/** A stay's stages: "免费 90 天，之后 半价 90 天". */
function stagesText(stages) {
  const zh = state.lang !== 'en';
  return stages.map(({ days, payPercent: p }) => {
    if (zh) return p === 0 ? `免费 ${days} 天` : p === 50 ? `半价 ${days} 天` : `${days} 天按 ${p}% 收费`;
    return p === 0 ? `${days} days free` : p === 50 ? `${days} days at half price` : `${days} days at ${p}%`;
  }).join(zh ? '，之后 ' : ', then ');
}

/** What an amount or a stay gives this holder: "每年 8,000 元", "免费 90 天，之后 半价 90 天". */
function amountText(e) {
  const zh = state.lang !== 'en';
  const yuan = grouped(num(e.amountYuan));
  switch (e.period) {
    case 'year': return zh ? `每年 ${yuan} 元` : `${yuan} yuan a year`;
    case 'once': return zh ? `一次性，最多 ${yuan} 元` : `up to ${yuan} yuan, once`;
    case 'stay': return stagesText(e.stayStages);
    default: return quotaText(e.quota);
  }
}

// ---- language -------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang === 'en' ? 'en' : 'zh-CN';
  document.title = tx('title');
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = tx(node.dataset.t);
  $('camera').textContent = tx(state.stopCamera ? 'stopCamera' : 'camera');
  showToken();
  showTrust();
  render();
}

$('lang').addEventListener('click', async () => {
  state.lang = state.lang === 'en' ? 'zh' : 'en';
  sessionStorage.setItem('lang', state.lang);
  applyLanguage();
  // Information-only reasons come from the gateway in the language asked for.
  if (state.credential) await verify(state.credential, { quiet: true });
});

// ---- counter token --------------------------------------------------------------------

/** The token's claims, read for display only: the gateway is what checks it. */
function tokenClaims(token) {
  try {
    const [h, p] = token.split('.');
    const json = (s) => JSON.parse(atob(s.replace(/-/g, '+').replace(/_/g, '/')));
    if (json(h).typ !== 'counter+jwt') return null;
    return json(p);
  } catch {
    return null;
  }
}

function showToken() {
  const status = $('token-status');
  status.className = 'muted';
  if (!state.token) {
    status.textContent = tx('tokenNone');
    return;
  }
  const claims = tokenClaims(state.token);
  if (!claims) {
    status.textContent = tx('tokenBad');
    status.className = 'error';
  } else if (claims.exp * 1000 <= Date.now()) {
    status.textContent = tx('tokenExpired');
    status.className = 'error';
  } else {
    const name = String(claims.sub).split('/').pop();
    status.textContent = `${tx('tokenAs')}: ${name} · ${tx('tokenUntil')} ${new Date(claims.exp * 1000).toLocaleString(state.lang === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai' })}`;
  }
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('token').value.trim();
  $('token').value = '';
  sessionStorage.setItem('counterToken', state.token);
  showToken();
});

$('token-clear').addEventListener('click', () => {
  state.token = '';
  sessionStorage.removeItem('counterToken');
  showToken();
});

// ---- reading and verifying --------------------------------------------------------------

function readError(message) {
  const p = $('read-error');
  p.textContent = message || '';
  p.hidden = !message;
}

async function verify(credential, { quiet = false } = {}) {
  readError('');
  const seq = ++state.verifySeq;
  if (!quiet) {
    $('verify').disabled = true;
    $('verify').textContent = tx('checking');
  }
  try {
    const verdict = await verification.verifyCard({ credential, language: state.lang }, auth());
    if (seq !== state.verifySeq) return;
    show(credential, verdict, false);
  } catch (e) {
    if (seq !== state.verifySeq) return;
    const err = ConnectError.from(e);
    // The gateway cannot be reached: the bundle decides, and nothing can be redeemed.
    if (err.code === Code.Unavailable) {
      if (state.trust) {
        try {
          const verdict = await verifyOffline(state.trust, credential, Math.floor(Date.now() / 1000), state.lang);
          if (seq === state.verifySeq) show(credential, verdict, true);
        } catch (offlineError) {
          if (seq === state.verifySeq) readError(`${tx('error')}: ${offlineError.message}`);
        }
      } else {
        readError(`${tx('offlineNoTrust')}: ${err.rawMessage}`);
      }
      return;
    }
    readError(err.code === Code.Unauthenticated
      ? `${tx('unauthenticated')}: ${err.rawMessage}`
      : `${tx('error')}: ${err.rawMessage}`);
  } finally {
    $('verify').disabled = false;
    $('verify').textContent = tx('verify');
  }
}

/** Shows `verdict` for `credential`, decided `offline` from the bundle or by the gateway. */
function show(credential, verdict, offline) {
  if (credential !== state.credential) state.redeem = new Map();
  state.credential = credential;
  state.verdict = verdict;
  state.offline = offline;
  render();
}

// ---- offline trust data ---------------------------------------------------------------

/** How often the bundle is fetched again while the gateway answers. */
const TRUST_REFRESH_MS = 5 * 60 * 1000;

/** "14:05": a bundle's iat in local time. */
const clock = (seconds) => new Date(seconds * 1000).toLocaleTimeString(state.lang === 'en' ? 'en-GB' : 'zh-CN', {
  hour: '2-digit', minute: '2-digit', hour12: false,
});

function showTrust() {
  const p = $('trust-status');
  const kept = state.trust ? `${tx('trustOf')} ${clock(state.trust.claims.iat)}` : tx('trustNone');
  p.textContent = state.trustProblem ? `${kept} · ${tx('trustRefused')}: ${state.trustProblem}` : kept;
  p.className = state.trustProblem ? 'error' : 'muted';
  p.dataset.iat = state.trust ? String(state.trust.claims.iat) : '';
}

/** The bundle kept from an earlier visit, opened again under the anchor it was kept with. */
async function restoreTrust() {
  try {
    const kept = await loadTrust();
    if (kept) state.trust = await openBundle(kept.bundle, await parseAnchor(kept.anchor));
  } catch (e) {
    state.trustProblem = e.message;
  }
  showTrust();
}

/**
 * Fetches the gateway's offline bundle and keeps it if it opens: the first under the gateway's
 * published JWKS (trust on first use), every later one under the bundle before it, so a key
 * rotation rolls forward only through keys the last bundle already listed. A bundle that does
 * not open is not kept, and the page says why.
 */
async function refreshTrust() {
  let bundle;
  let anchor;
  try {
    bundle = (await federation.getOfflineBundle({})).bundle.trim();
    if (bundle === state.trust?.text) return;
    anchor = state.trust ? state.trust.text : (await federation.getTrustBundle({})).jwksJson;
  } catch {
    // Unreachable, or a gateway that offers no bundle: keep what is kept.
    return;
  }
  try {
    const opened = await openBundle(bundle, await parseAnchor(anchor));
    await saveTrust(opened.text, anchor);
    state.trust = opened;
    state.trustProblem = '';
  } catch (e) {
    state.trustProblem = e.message;
  }
  showTrust();
}

$('read-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const credential = $('payload').value.trim();
  if (credential) verify(credential);
});

$('camera').addEventListener('click', async () => {
  if (state.stopCamera) {
    state.stopCamera();
    state.stopCamera = null;
    $('camera').textContent = tx('camera');
    return;
  }
  try {
    state.stopCamera = await scan($('video'), (code) => {
      state.stopCamera = null;
      $('camera').textContent = tx('camera');
      $('payload').value = code;
      verify(code.trim());
    });
    $('camera').textContent = tx('stopCamera');
  } catch (e) {
    readError(`${tx('noCamera')}: ${e.message}`);
  }
});

// ---- the verdict ------------------------------------------------------------------------

function render() {
  const v = state.verdict;
  $('result').hidden = !v;
  if (!v) return;
  const verdict = $('verdict');
  verdict.className = `verdict ${v.valid ? 'ok' : 'bad'}`;
  verdict.replaceChildren(
    el('span', { text: tx(v.valid ? 'valid' : 'invalid') }),
    el('span', { class: 'why', text: v.valid ? '' : `${t(REASONS, v.reason, state.lang)} (${v.reason})` }),
    el('span', { class: 'why detail', text: v.valid ? '' : v.detail }),
  );
  verdict.dataset.reason = v.reason;
  const note = $('offline-note');
  note.hidden = !state.offline;
  note.textContent = state.offline ? `${tx('offlineAt')} ${clock(state.trust.claims.iat)}` : '';

  const hasCard = Boolean(v.cardId);
  $('card').hidden = !hasCard;
  const expires = num(v.expiresAt?.seconds);
  $('card').className = `card ${v.issuerRegion || ''} ${v.valid ? '' : 'void'}`;
  $('card-title').textContent = t(CARD_TITLES, v.issuerRegion, state.lang);
  $('card-tier').textContent = v.nativeTier;
  $('card-name').textContent = v.holderName;
  $('card-no').textContent = v.cardId;
  $('card-exp').textContent = date(expires);

  const facts = [
    ['holder', v.holderName],
    ['cardNo', v.cardId],
    ['homeRegion', t(REGIONS, v.issuerRegion, state.lang)],
    ['nativeTier', v.nativeTier],
    ['recognisedTier', v.recognisedTier],
    ['expires', expires ? date(expires) : ''],
  ].filter(([, value]) => value);
  $('facts').replaceChildren(...facts.flatMap(([k, value]) => [
    el('dt', { text: tx(k) }), el('dd', { text: value, 'data-fact': k }),
  ]));

  const usable = v.valid ? v.entitlements.filter((e) => USABLE.has(e.basis)) : [];
  const info = v.valid ? v.entitlements.filter((e) => !USABLE.has(e.basis)) : [];
  $('services-box').hidden = !v.valid;
  $('services').replaceChildren(...(usable.length ? usable.map(serviceRow) : [el('li', { text: tx('none') })]));
  $('info-only').replaceChildren(...(info.length ? info.map(infoRow) : [el('li', { text: tx('none') })]));
}

function names(e) {
  const [first, second] = state.lang === 'en' ? [e.nameEn, e.nameZh] : [e.nameZh, e.nameEn];
  return [first || e.name, second];
}

function serviceRow(e) {
  const [name, other] = names(e);
  const r = state.redeem.get(e.serviceCode) ?? {};
  const button = el('button', { type: 'button', class: 'redeem primary' });
  button.textContent = tx(state.offline ? 'redeemOffline' : r.busy ? 'redeeming' : r.key ? 'retry' : 'redeem');
  // A counted service is never granted offline: only the gateway can count it.
  button.disabled = Boolean(r.busy) || state.offline;
  button.addEventListener('click', () => redeem(e, button));
  const outcome = el('div', { class: `outcome ${r.outcome?.ok ? 'ok' : 'bad'}`, text: outcomeText(r.outcome) });
  // An amount or a stay: the clerk says how much this redemption draws.
  const draw = [];
  if (e.period) {
    const label = tx(e.period === 'stay' ? 'drawDays' : 'drawYuan');
    const input = el('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric', class: 'draw', placeholder: label, 'aria-label': label });
    input.value = r.draw ?? '';
    input.addEventListener('input', () => {
      const now = state.redeem.get(e.serviceCode) ?? {};
      now.draw = input.value;
      state.redeem.set(e.serviceCode, now);
    });
    draw.push(input);
  }
  return el('li', { 'data-code': e.serviceCode },
    el('div', {},
      el('div', { class: 'name', text: `${e.serviceCode} ${name}` }),
      el('div', { class: 'sub', text: `${other} · ${t(BASIS, e.basis, state.lang)} · ${tx('quota')}: ${amountText(e)}` }),
      outcome),
    ...draw,
    button);
}

function infoRow(e) {
  const [name, other] = names(e);
  return el('li', { 'data-code': e.serviceCode },
    el('div', {},
      el('div', { class: 'name', text: `${e.serviceCode} ${name}` }),
      el('div', { class: 'sub', text: `${other} · ${t(BASIS, e.basis, state.lang)}${e.reason ? ` · ${e.reason}` : ''}` })));
}

function outcomeText(o) {
  if (!o) return '';
  if (o.ok) {
    // period_end is the first second of the next period: show the last day of this one.
    const left = o.remaining === -1
      ? tx('unlimited')
      : `${tx('remaining')} ${inUnit(o.unit, o.remaining)}${o.periodEnd ? ` (${tx('periodEnd')} ${date(o.periodEnd - 1)})` : ''}`;
    const stages = o.byStage?.length ? ` · ${stagesText(o.byStage)}` : '';
    return `${tx('redeemed')}${stages} · ${left}`;
  }
  return `${tx(o.kind)}${o.message ? `: ${o.message}` : ''}`;
}

// ---- redeeming --------------------------------------------------------------------------

/** Statuses after which the outcome is unknown: the same click may be retried, same key. */
const RETRYABLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Internal, Code.Canceled, Code.Aborted]);

async function redeem(e, button) {
  const code = e.serviceCode;
  const r = state.redeem.get(code) ?? {};
  if (r.busy || state.offline) return;
  if (!state.token) {
    r.outcome = { ok: false, kind: 'needToken' };
    state.redeem.set(code, r);
    render();
    return;
  }
  // An amount or a stay draws what the clerk entered, a whole positive number.
  const draw = {};
  if (e.period) {
    const n = Number(r.draw);
    if (!r.draw || !Number.isSafeInteger(n) || n <= 0 || (e.period === 'stay' && n > 0xffffffff)) {
      r.outcome = { ok: false, kind: 'enterAmount' };
      state.redeem.set(code, r);
      render();
      return;
    }
    if (e.period === 'stay') draw.days = n;
    else draw.amountYuan = BigInt(n);
  }
  // Disabled before anything else: a second click of a double-click finds it so.
  button.disabled = true;
  r.busy = true;
  r.key ??= crypto.randomUUID();
  state.redeem.set(code, r);
  button.textContent = tx('redeeming');
  try {
    const res = await entitlements.redeemService(
      { credential: state.credential, serviceCode: code, idempotencyKey: r.key, ...draw },
      auth(),
    );
    r.key = undefined;
    // Drawn: the next redemption of it is a new one, with its own figure.
    r.draw = undefined;
    r.outcome = {
      ok: true,
      remaining: num(res.remaining),
      periodEnd: num(res.periodEnd?.seconds),
      id: res.redemptionId,
      unit: res.unit,
      byStage: res.daysByStage.map(({ days, payPercent }) => ({ days, payPercent })),
    };
  } catch (e) {
    const err = ConnectError.from(e);
    const status = err.code;
    if (!RETRYABLE.has(status)) r.key = undefined;
    const kind = {
      [Code.Unauthenticated]: 'unauthenticated',
      [Code.PermissionDenied]: 'denied',
      [Code.ResourceExhausted]: 'exhausted',
      [Code.FailedPrecondition]: 'refused',
    }[status] ?? (RETRYABLE.has(status) ? 'unavailable' : 'error');
    r.outcome = { ok: false, kind, message: err.rawMessage };
  } finally {
    r.busy = false;
    render();
  }
}

applyLanguage();
restoreTrust().then(refreshTrust);
setInterval(refreshTrust, TRUST_REFRESH_MS);
