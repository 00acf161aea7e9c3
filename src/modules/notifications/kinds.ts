/**
 * The kinds of notification. Each kind is a message under `notifications.kinds.<kind>`
 * (locales/ko.ts, en.ts) rendered with the row's params in the reader's language, and a link.
 * Adding a kind (e.g. `orderShipped` for the orders module): add it here, add its two messages,
 * and write its handler in handlers.ts (one `onDurable` that calls `notify`).
 */
const BASE_KINDS = ['outbid', 'ending', 'won', 'sold', 'unsold', 'alert', 'question', 'answer'] as const;
/** moderation: an auction cancelled by a moderator (each bidder), a warning, a suspension, a ban (the user). */
const MODERATION_KINDS = ['cancelled', 'warning', 'suspended', 'banned'] as const;
/** orders' second-chance offers: the offer (to the next bidder), its answer (to the seller). */
const OFFER_KINDS = ['offer', 'offerAccepted', 'offerClosed'] as const;

// ── order steps and order chat (orders' and messages' durable events; handlers in order-handlers.ts) ──
export const ORDER_KINDS = [
  'orderAddress',
  'orderAddressReminder',
  'orderShipNeeded',
  'orderShipped',
  'orderConfirmReminder',
  'orderAutoConfirmed',
  'orderPayout',
  'orderCancelled',
  'orderDisputed',
  'orderDisputeAnswered',
  'orderDisputeResolved',
  'reviewReceived',
  'chatMessage',
] as const;
// ── end of order kinds ──
export const KINDS = [...BASE_KINDS, ...MODERATION_KINDS, ...OFFER_KINDS, ...ORDER_KINDS] as const;
export type Kind = (typeof KINDS)[number];
export const isKind = (k: string): k is Kind => (KINDS as readonly string[]).includes(k);

/** Params are plain JSON: ids, prices (whole won), short texts (titles) — escaped where shown. */
export type Params = Record<string, string | number | null>;

/** Kinds mailed unless the user turns them off (all of them: mail is the channel that reaches people away from the site). */
export const DEFAULT_EMAIL_KINDS: readonly Kind[] = KINDS;

/** Params whose values are prices: shown formatted in the reader's language. */
const PRICE_PARAMS = ['price'];

const won = new Intl.NumberFormat('ko-KR');
export const formatWon = (n: number, lang: string) => (lang === 'en' ? `₩${won.format(n)}` : `${won.format(n)}원`);

/** The values a message is interpolated with, prices formatted (text stays raw: Handlebars/mail escape it). */
export function messageParams(params: Params, lang: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === null) out[k] = '';
    else if (PRICE_PARAMS.includes(k) && typeof v === 'number') out[k] = formatWon(v, lang);
    else out[k] = String(v);
  }
  return out;
}

/** A second link some kinds offer (outbid: bid again at once). */
export function actionLink(kind: string, params: Params): string | null {
  if (kind === 'outbid' || kind === 'ending')
    return `/items/${Number(params.auctionId)}#bid-panel-${Number(params.auctionId)}`;
  return null;
}
