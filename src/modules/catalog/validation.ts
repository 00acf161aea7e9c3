/** The listing form's rules, as pure functions: raw form strings in, a clean command or field errors out. */

export const CONDITIONS = ['NEW', 'LIKE_NEW', 'GOOD', 'FAIR', 'FOR_PARTS'] as const;
export type Condition = (typeof CONDITIONS)[number];
export const DURATIONS = [1, 3, 5, 7, 10, 14] as const;
export const MIN_PRICE = 1_000;
export const MAX_PRICE = 100_000_000;
export const MAX_SCHEDULE_MS = 7 * 24 * 3600 * 1000;
/** A scheduled start this close to now counts as "now" was meant: the form took a while to fill. */
const SCHEDULE_GRACE_MS = 60 * 1000;

export type ListingField =
  | 'title'
  | 'description'
  | 'categoryId'
  | 'condition'
  | 'startPrice'
  | 'buyNowPrice'
  | 'reservePrice'
  | 'startsAt'
  | 'durationDays'
  | 'photos';
export type FieldErrors = Partial<Record<ListingField, string>>;

/** What the form posts (all strings, any may be missing). */
export interface ListingForm {
  title?: string;
  description?: string;
  categoryId?: string;
  condition?: string;
  startPrice?: string;
  buyNowPrice?: string;
  reservePrice?: string;
  startMode?: string; // 'now' | 'scheduled'
  startsAt?: string; // datetime-local in Korea time, e.g. 2026-11-25T18:30
  durationDays?: string;
}

export interface ListingInput {
  title: string;
  description: string;
  categoryId: number;
  condition: Condition;
  startPrice: number;
  buyNowPrice: number | null;
  reservePrice: number | null;
  /** null: start now. */
  startsAt: Date | null;
  durationDays: number;
}

/** "12,000", "12000원", " 12 000 " -> 12000; anything else (decimals, negatives, words) -> NaN. */
export function parseWon(raw: string | undefined): number | null {
  const s = String(raw ?? '').replace(/[\s,원₩]/g, '');
  if (s === '') return null;
  if (!/^\d{1,12}$/.test(s)) return NaN;
  return Number(s);
}

/** A datetime-local value read as Korea time (UTC+9, no daylight saving). */
export function parseKst(raw: string | undefined): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2})?$/.exec(String(raw ?? '').trim());
  if (!m) return null;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:00+09:00`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Date -> datetime-local value in Korea time (for re-filling the form). */
export function toKstInput(d: Date): string {
  return new Date(d.getTime() + 9 * 3600 * 1000).toISOString().slice(0, 16);
}

/** Normalises text: NFC, no control characters except line breaks and tabs, CRLF -> LF. */
export function cleanText(raw: string | undefined): string {
  return (
    String(raw ?? '')
      .normalize('NFC')
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u200B-\u200D\u2060\uFEFF]/g, '')
  );
}

const len = (s: string) => [...s].length;

export function validateListing(
  form: ListingForm,
  opts: { now: Date; categoryIds: Set<number>; leafCategoryIds: Set<number> },
): { input?: ListingInput; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const title = cleanText(form.title).replace(/\s+/g, ' ').trim();
  if (!title) errors.title = 'catalog.errors.titleRequired';
  else if (len(title) < 2 || len(title) > 60) errors.title = 'catalog.errors.titleLength';

  const description = cleanText(form.description)
    .replace(/[ \t]+$/gm, '')
    .trim();
  if (len(description) > 5000) errors.description = 'catalog.errors.descriptionLength';

  const categoryId = Number(form.categoryId);
  if (!Number.isInteger(categoryId) || !opts.categoryIds.has(categoryId))
    errors.categoryId = 'catalog.errors.categoryRequired';
  else if (!opts.leafCategoryIds.has(categoryId)) errors.categoryId = 'catalog.errors.categoryLeaf';

  const condition = String(form.condition ?? '') as Condition;
  if (!CONDITIONS.includes(condition)) errors.condition = 'catalog.errors.conditionRequired';

  const startPrice = parseWon(form.startPrice);
  if (startPrice === null) errors.startPrice = 'catalog.errors.startPriceRequired';
  else if (Number.isNaN(startPrice)) errors.startPrice = 'catalog.errors.wholeWon';
  else if (startPrice < MIN_PRICE || startPrice > MAX_PRICE) errors.startPrice = 'catalog.errors.startPriceRange';

  const buyNowPrice = parseWon(form.buyNowPrice);
  if (buyNowPrice !== null) {
    if (Number.isNaN(buyNowPrice)) errors.buyNowPrice = 'catalog.errors.wholeWon';
    else if (buyNowPrice > MAX_PRICE) errors.buyNowPrice = 'catalog.errors.buyNowRange';
    else if (startPrice && !Number.isNaN(startPrice) && buyNowPrice <= startPrice)
      errors.buyNowPrice = 'catalog.errors.buyNowAboveStart';
  }

  const reservePrice = parseWon(form.reservePrice);
  if (reservePrice !== null) {
    if (Number.isNaN(reservePrice)) errors.reservePrice = 'catalog.errors.wholeWon';
    else if (startPrice && !Number.isNaN(startPrice) && reservePrice < startPrice)
      errors.reservePrice = 'catalog.errors.reserveBelowStart';
    else if (buyNowPrice && !Number.isNaN(buyNowPrice) && reservePrice > buyNowPrice)
      errors.reservePrice = 'catalog.errors.reserveAboveBuyNow';
    else if (reservePrice > MAX_PRICE) errors.reservePrice = 'catalog.errors.buyNowRange';
  }

  let startsAt: Date | null = null;
  if (form.startMode === 'scheduled') {
    startsAt = parseKst(form.startsAt);
    if (!startsAt) errors.startsAt = 'catalog.errors.startsAtInvalid';
    else if (startsAt.getTime() < opts.now.getTime() - SCHEDULE_GRACE_MS)
      errors.startsAt = 'catalog.errors.startsAtPast';
    else if (startsAt.getTime() > opts.now.getTime() + MAX_SCHEDULE_MS)
      errors.startsAt = 'catalog.errors.startsAtTooLate';
    else if (startsAt.getTime() <= opts.now.getTime()) startsAt = null;
  } else if (form.startMode !== undefined && form.startMode !== 'now' && form.startMode !== '') {
    errors.startsAt = 'catalog.errors.startsAtInvalid';
  }

  const durationDays = Number(form.durationDays);
  if (!(DURATIONS as readonly number[]).includes(durationDays)) errors.durationDays = 'catalog.errors.durationInvalid';

  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    input: {
      title,
      description,
      categoryId,
      condition,
      startPrice: startPrice!,
      buyNowPrice: buyNowPrice ?? null,
      reservePrice: reservePrice ?? null,
      startsAt,
      durationDays,
    },
  };
}

/** The listing form's text fields, in form order (the sell route reads these from the multipart body). */
export const LISTING_FORM_FIELDS = [
  'title',
  'description',
  'categoryId',
  'condition',
  'startPrice',
  'buyNowPrice',
  'reservePrice',
  'startMode',
  'startsAt',
  'durationDays',
] as const;

/** The values to re-fill the form with after an error (what the user typed, not the parsed form). */
export function formValues(form: ListingForm): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of LISTING_FORM_FIELDS) {
    out[k] = String(form[k] ?? '').slice(0, 6000);
  }
  if (!out.startMode) out.startMode = 'now';
  return out;
}
