// A token profile as a bundle carries it (the fields of a profiles_dir file, as JSON), checked
// as the gateway checks a profiles_dir file (src/domain/profile.rs: unknown fields refused,
// then every problem named).

const FIELDS = {
  top: ['id', 'typ', 'algorithms', 'qr_prefix', 'claims', 'card_number'],
  claims: ['card_number', 'holder_name', 'tier', 'nbf_required'],
  card_number: ['prefix', 'digits'],
};
const REGISTERED = ['iss', 'iat', 'nbf', 'exp', 'cnf', 'status'];
const MAX_NAME = 64;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const nameOk = (s) => s.length > 0 && s.length <= MAX_NAME && !/[\u0000-\u001f\u007f-\u009f]/.test(s);

/** The shape: what serde would refuse to read at all, or null. */
function shapeProblem(p) {
  if (!isObject(p)) return 'not an object';
  for (const [where, obj] of [['top', p], ['claims', p.claims], ['card_number', p.card_number]]) {
    if (where === 'card_number' && (obj === undefined || obj === null)) continue;
    if (!isObject(obj)) return `${where} is not an object`;
    const unknown = Object.keys(obj).find((k) => !FIELDS[where].includes(k));
    if (unknown) return `unknown field ${JSON.stringify(unknown)}`;
  }
  const strings = [p.id, p.typ, p.qr_prefix, p.claims.card_number, p.claims.holder_name, p.claims.tier];
  if (!strings.every((s) => typeof s === 'string')) return 'a name is missing or not a string';
  if (!Array.isArray(p.algorithms) || !p.algorithms.every((a) => typeof a === 'string')) return 'algorithms is not a list of names';
  if (p.claims.nbf_required !== undefined && typeof p.claims.nbf_required !== 'boolean') return 'claims.nbf_required is not a boolean';
  if (p.card_number && (typeof p.card_number.prefix !== 'string' || !Number.isSafeInteger(p.card_number.digits) || p.card_number.digits < 0)) {
    return 'card_number needs a prefix and a number of digits';
  }
  return null;
}

/** Every value that is wrong, as `field: why`. */
function problems(p) {
  const out = [];
  if (!(nameOk(p.id) && /^[a-z0-9.-]+$/.test(p.id))) out.push(`id: ${JSON.stringify(p.id)} must be 1 to ${MAX_NAME} lowercase letters, digits, '-' or '.'`);
  if (p.id === 'published') out.push('id: "published" names a partner\'s published profile; choose another id');
  if (!nameOk(p.typ)) out.push(`typ: must be 1 to ${MAX_NAME} characters`);
  if (p.algorithms.length === 0) out.push('algorithms: must name at least one algorithm');
  if (!/^[A-Za-z0-9]{1,16}:$/.test(p.qr_prefix)) out.push(`qr_prefix: ${JSON.stringify(p.qr_prefix)} must be 1 to 16 letters or digits followed by ':'`);
  const seen = [];
  for (const field of ['card_number', 'holder_name', 'tier']) {
    const claim = p.claims[field];
    if (!nameOk(claim)) out.push(`claims.${field}: must be a claim name of 1 to ${MAX_NAME} characters`);
    else if (REGISTERED.includes(claim)) out.push(`claims.${field}: ${JSON.stringify(claim)} is a registered claim the gateway reads itself`);
    else if (seen.includes(claim)) out.push(`claims.${field}: ${JSON.stringify(claim)} already carries another value`);
    seen.push(claim);
  }
  if (p.card_number) {
    if (!/^[A-Z]{1,8}$/.test(p.card_number.prefix)) out.push('card_number.prefix: must be 1 to 8 capital letters');
    if (p.card_number.digits < 4 || p.card_number.digits > 20) out.push('card_number.digits: must be between 4 and 20');
  }
  return out;
}

/** The profile if it can be used, else a message naming what is wrong (thrown as Error). */
export function checkedProfile(p) {
  const shape = shapeProblem(p);
  if (shape) throw new Error(`profile: ${shape}`);
  const found = problems(p);
  if (found.length) throw new Error(`profile: ${found.join('; ')}`);
  return { ...p, card_number: p.card_number ?? undefined, claims: { nbf_required: false, ...p.claims } };
}
