// The page's words in Chinese (the default) and English, and the verdict reasons in plain
// words for the person at the counter.

export const REASONS = {
  OK: ['有效', 'Valid'],
  MALFORMED: ['无法识别的卡码，请重新扫码或粘贴完整内容', 'Not a readable card code; scan again or paste all of it'],
  BAD_SIGNATURE: ['签名不符，卡片可能被篡改或伪造', 'The signature does not match: the card may be altered or forged'],
  UNKNOWN_ISSUER: ['发卡机构不在互认协议内', 'The issuer is not part of the recognition agreement'],
  UNKNOWN_KEY: ['发卡密钥未知，请稍后重试或联系发卡地', 'Unknown issuing key; try again later or contact the issuing region'],
  ALGORITHM_NOT_ALLOWED: ['签名算法不被接受', 'The signature algorithm is not accepted'],
  EXPIRED: ['卡片已过期', 'The card has expired'],
  NOT_YET_VALID: ['卡片尚未生效', 'The card is not valid yet'],
  REVOKED: ['卡片已被注销', 'The card has been revoked'],
  SUSPENDED: ['卡片已被暂停使用', 'The card is suspended'],
  HOLDER_PROOF_REQUIRED: ['需持卡人在本人手机上确认', "The holder must confirm on their own phone"],
  HOLDER_PROOF_INVALID: ['持卡人确认无效', "The holder's confirmation is not valid"],
  PARTNER_SUSPENDED: ['与发卡地的互认已暂停', 'Recognition with the issuing region is suspended'],
  STALE_TRUST_DATA: ['发卡地信任数据过旧，暂无法核验', "The issuing region's trust data is out of date; cannot check now"],
  UNSUPPORTED_HEADER: ['卡码包含不被接受的内容', 'The card code asks for something that is not accepted'],
  WRONG_TYPE: ['这不是人才卡', 'This is not a talent card'],
  KEY_REVOKED: ['签发该卡的密钥已被吊销，请持卡人向发卡地领取新卡码', 'The key that signed this card is revoked; the holder should get a new card code from the issuing region'],
};

export const REGIONS = {
  chongqing: ['重庆', 'Chongqing'],
  mianyang: ['绵阳', 'Mianyang'],
};

export const CARD_TITLES = {
  chongqing: ['新重庆人才卡', 'New Chongqing Talent Card'],
  mianyang: ['科技城人才卡', 'Science City Talent Card'],
};

export const BASIS = {
  home: ['本地服务', 'Home service'],
  host_standard: ['互认服务（按本地标准）', 'Recognised (host standard)'],
  local_only: ['仅限本地人才', 'Local holders only'],
  not_eligible: ['等级未达到', 'Tier not eligible'],
};

export const TEXT = {
  title: ['人才卡服务窗口', 'Talent card counter'],
  switchLang: ['English', '中文'],
  tokenHeading: ['窗口凭证', 'Counter token'],
  tokenHint: ['粘贴管理员签发的窗口凭证（仅保存在本标签页）', 'Paste the counter token from an operator (kept in this tab only)'],
  tokenSave: ['使用此凭证', 'Use this token'],
  tokenClear: ['退出', 'Sign out'],
  tokenNone: ['未登录：可核验，不能核销', 'No token: can verify, cannot redeem'],
  tokenAs: ['当前窗口', 'Signed in as'],
  tokenUntil: ['有效至', 'valid until'],
  tokenExpired: ['凭证已过期，请重新获取', 'The token has expired; get a new one'],
  tokenBad: ['这不是窗口凭证', 'This is not a counter token'],
  readHeading: ['读卡', 'Read a card'],
  payloadLabel: ['卡码（扫码或粘贴 NCTC1:… / KJC1:… 或令牌）', 'Card code (scan, or paste NCTC1:… / KJC1:… or a token)'],
  verify: ['核验', 'Verify'],
  camera: ['摄像头扫码', 'Scan with camera'],
  stopCamera: ['关闭摄像头', 'Stop camera'],
  noCamera: ['无法使用摄像头', 'The camera is not available'],
  checking: ['核验中…', 'Checking…'],
  valid: ['有效', 'VALID'],
  invalid: ['无效', 'NOT VALID'],
  holder: ['持卡人', 'Holder'],
  cardNo: ['卡号', 'Card no.'],
  homeRegion: ['发卡地', 'Home region'],
  nativeTier: ['原等级', 'Native tier'],
  recognisedTier: ['本地认定等级', 'Recognised tier here'],
  expires: ['有效期至', 'Expires'],
  tier: ['等级', 'Tier'],
  services: ['可办理的服务', 'Services this holder may use here'],
  infoOnly: ['不可办理（仅供告知）', 'Not available here (for information)'],
  none: ['无', 'None'],
  redeem: ['核销', 'Redeem'],
  retry: ['重试', 'Retry'],
  redeeming: ['处理中…', 'Working…'],
  redeemed: ['已核销', 'Redeemed'],
  unlimited: ['不限次数', 'unlimited'],
  remaining: ['本期剩余', 'left this period'],
  periodEnd: ['至', 'until'],
  needToken: ['请先输入窗口凭证', 'Enter a counter token first'],
  unauthenticated: ['窗口凭证无效、已过期或已吊销', 'The counter token is not valid, has expired or was revoked'],
  denied: ['无权操作', 'Not allowed'],
  exhausted: ['额度已用完', 'Allowance used up'],
  refused: ['卡片未通过核验', 'The card did not verify'],
  unavailable: ['暂时无法连接，可重试（不会重复核销）', 'Cannot reach the service now; retry (it will not redeem twice)'],
  error: ['出错', 'Error'],
  quota: ['额度', 'Quota'],
  drawYuan: ['金额（元）', 'Amount (yuan)'],
  drawDays: ['天数', 'Days'],
  enterAmount: ['请输入本次核销的金额或天数（正整数）', 'Enter the amount or days to redeem (a whole number)'],
  trustNone: ['尚无离线信任数据', 'No offline trust data yet'],
  trustOf: ['离线信任数据时间', 'Offline trust data of'],
  trustRefused: ['新的信任数据未通过校验，未保存', 'new trust data did not verify and was not kept'],
  offlineAt: ['离线核验，信任数据时间', 'offline, trust data of'],
  offlineNoTrust: ['无法连接网关，本机也没有离线信任数据', 'Cannot reach the gateway, and there is no offline trust data here'],
  redeemOffline: ['核销需连接网关', 'Redemption needs the gateway'],
};

/** The string for `key` of `table` in `lang` ('zh' or 'en'); the key itself when missing. */
export function t(table, key, lang) {
  const pair = table[key];
  if (!pair) return key;
  return pair[lang === 'en' ? 1 : 0];
}
