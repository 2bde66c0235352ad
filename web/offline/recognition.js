// What a holder is recognised as here, from the bundle's catalogue (the imported document as
// JSON: regions with their services, recognition rows, mappings), as the gateway works it out
// (src/domain/catalogue.rs `entitlements`, src/service/catalogue.rs `recognition`). The lines
// come in the shape of the contract's Entitlement, so the page shows them as it shows the
// gateway's.

const TIER = /^[A-Z]$/;

/** A service's tiers: "A-F", "A,B" or ["A", "B"]; null when unreadable. */
function tiersOf(raw) {
  let parts;
  if (Array.isArray(raw)) {
    parts = raw.map(String);
  } else if (typeof raw === 'string' && raw.includes('-')) {
    const at = raw.indexOf('-');
    const [a, b] = [raw.slice(0, at).trim(), raw.slice(at + 1).trim()];
    if (!TIER.test(a) || !TIER.test(b) || a > b) return null;
    parts = [];
    for (let c = a.charCodeAt(0); c <= b.charCodeAt(0); c += 1) parts.push(String.fromCharCode(c));
  } else if (typeof raw === 'string') {
    parts = raw.split(',');
  } else {
    return null;
  }
  const tiers = parts.map((t) => t.trim());
  return tiers.every((t) => TIER.test(t)) ? tiers : null;
}

/** The quota rule as the gateway writes it back ("per_year 6", "yuan once", ...). */
function quotaText(quota) {
  const words = String(quota ?? '').split(/\s+/).filter(Boolean);
  if (words[0] === 'per_year' && words.length === 2) return `per_year ${Number.parseInt(words[1], 10)}`;
  return words.join(' ');
}

const PERIODS = { 'yuan per_year': 'year', 'yuan once': 'once', stay: 'stay' };

/** The catalogue in a bundle, read once. */
export class Catalogue {
  constructor(doc) {
    if (!doc || typeof doc !== 'object' || typeof doc.version !== 'string') {
      throw new Error('the bundle carries no catalogue');
    }
    this.version = doc.version;
    this.localOnly = [doc.local_only_reason_zh ?? '', doc.local_only_reason_en ?? ''];
    this.regions = (doc.regions ?? []).map((r) => ({
      id: r.id,
      issuer: r.issuer,
      tiers: (r.tiers ?? []).map((t) => String(t).trim()),
      services: (r.services ?? []).map((s) => ({ ...s, tierList: tiersOf(s.tiers) ?? [] })),
    }));
    this.recognition = doc.recognition ?? [];
    this.mappings = doc.mappings ?? [];
  }

  region(id) {
    return this.regions.find((r) => r.id === id);
  }

  /** The region whose cards carry `issuer`. */
  regionOfIssuer(issuer) {
    return this.regions.find((r) => r.issuer === issuer);
  }

  /** The tier a `from` holder of `tier` is recognised as in `to`. */
  recognise(from, to, tier) {
    if (from === to) return this.region(from)?.tiers.includes(tier) ? tier : undefined;
    const row = this.recognition.find((r) => r.from === from && r.to === to);
    const got = row?.tiers?.[tier];
    return typeof got === 'string' && TIER.test(got.trim()) ? got.trim() : undefined;
  }

  /** The home service `hostCode` is mapped from, for a `home` holder. */
  sourceOf(host, hostCode, home) {
    return this.mappings.find((m) => m[host] === hostCode)?.[home];
  }

  /**
   * What a `home` holder of native `tier` gets in `host`: `{recognisedTier, lines, version}`,
   * usable lines first; undefined when the agreement does not know the region or tier.
   * `lang` 'en' or Chinese.
   */
  here(home, tier, host, lang) {
    // Only a tier its home region lists is recognised anywhere.
    if (!this.region(home)?.tiers.includes(tier)) return undefined;
    const recognised = this.recognise(home, host, tier);
    const hostRegion = this.region(host);
    if (!recognised || !hostRegion) return undefined;
    const en = lang === 'en';
    const lines = hostRegion.services.map((s) => {
      const reaches = s.tierList.includes(recognised);
      let basis;
      let source = '';
      if (home === host) {
        basis = reaches ? 'home' : 'not_eligible';
      } else {
        const src = this.sourceOf(host, s.code, home);
        if (src !== undefined) {
          basis = reaches ? 'host_standard' : 'not_eligible';
          source = src;
        } else {
          basis = 'local_only';
        }
      }
      const reason = {
        local_only: this.localOnly[en ? 1 : 0],
        not_eligible: en
          ? `recognised tier ${recognised} is not among this service's tiers`
          : `认定等级 ${recognised} 不在该服务适用范围内`,
      }[basis] ?? '';
      const quota = quotaText(s.quota);
      const stages = Array.isArray(s.stay) ? s.stay : [];
      return {
        serviceCode: s.code,
        name: en ? s.name_en : s.name_zh,
        basis,
        sourceServiceCode: source,
        nameZh: s.name_zh,
        nameEn: s.name_en,
        reason,
        quota,
        amountYuan: BigInt(s.amount_yuan?.[recognised] ?? 0),
        period: PERIODS[quota] ?? '',
        days: stages.reduce((n, st) => n + Number(st.days ?? 0), 0),
        stayStages: stages.map((st) => ({ days: Number(st.days ?? 0), payPercent: Number(st.pay_percent ?? 0) })),
      };
    });
    const usable = (l) => l.basis === 'home' || l.basis === 'host_standard';
    // Own holders see what they may use; visitors also see what they may not, and why.
    const shown = home === host ? lines.filter(usable) : lines;
    shown.sort((a, b) => Number(!usable(a)) - Number(!usable(b)));
    return { recognisedTier: recognised, lines: shown, version: this.version };
  }
}
