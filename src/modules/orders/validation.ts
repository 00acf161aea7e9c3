/** Input rules of orders: addresses, 직거래 place/time, couriers and tracking numbers, disputes, reviews. */

export interface AddressInput {
  recipient: string;
  phone: string;
  postalCode: string;
  roadAddress: string;
  detailAddress: string;
}

type Checked<T> = { ok: true; value: T } | { ok: false; errors: Record<string, string> };

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const clean = (s: unknown) => (typeof s === 'string' ? s.normalize('NFC').trim().replace(/\s+/g, ' ') : '');

/** Korean phone numbers: mobiles (010-1234-5678) and landlines (02-123-4567); stored with dashes. */
export function normalizePhone(raw: string): string | null {
  const d = raw.replace(/[\s-]/g, '');
  if (!/^\d+$/.test(d)) return null;
  let m = /^(01[016789])(\d{3,4})(\d{4})$/.exec(d);
  if (m) return `${m[1]}-${m[2]}-${m[3]}`;
  m = /^(02)(\d{3,4})(\d{4})$/.exec(d) ?? /^(0[3-6]\d)(\d{3,4})(\d{4})$/.exec(d) ?? /^(070)(\d{4})(\d{4})$/.exec(d);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

/** Error values are message keys (orders.errors.*). */
export function checkAddress(b: Record<string, unknown>): Checked<AddressInput> {
  const errors: Record<string, string> = {};
  const recipient = clean(b.recipient);
  const phoneRaw = clean(b.phone);
  const postalCode = clean(b.postalCode);
  const roadAddress = clean(b.roadAddress);
  const detailAddress = clean(b.detailAddress);
  if (recipient.length < 1 || recipient.length > 20 || CONTROL.test(recipient)) errors.recipient = 'recipient';
  const phone = normalizePhone(phoneRaw);
  if (!phone) errors.phone = 'phone';
  if (!/^\d{5}$/.test(postalCode)) errors.postalCode = 'postalCode';
  // 도로명 주소: a road name ending in 로 or 길 (or its romanization), then a building number.
  if (
    roadAddress.length < 5 ||
    roadAddress.length > 200 ||
    !/(로|길|-ro|-gil|\bro|\bgil)\s*\d/i.test(roadAddress) ||
    CONTROL.test(roadAddress)
  )
    errors.roadAddress = 'roadAddress';
  if (detailAddress.length < 1 || detailAddress.length > 100) errors.detailAddress = 'detailAddress';
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, value: { recipient, phone: phone!, postalCode, roadAddress, detailAddress } };
}

/** 직거래: a place (2-100 chars) and a time in KST between an hour and 30 days from now. */
export function checkMeetup(b: Record<string, unknown>, now = Date.now()): Checked<{ place: string; at: Date }> {
  const errors: Record<string, string> = {};
  const place = clean(b.meetupPlace);
  if (place.length < 2 || place.length > 100 || CONTROL.test(place)) errors.meetupPlace = 'meetupPlace';
  const raw = clean(b.meetupAt);
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(raw);
  const at = m ? new Date(`${raw}:00+09:00`) : null;
  // A real calendar minute: written back in KST it is the same text (no 02-30 or 25:00).
  const valid =
    at && !Number.isNaN(at.getTime()) && new Date(at.getTime() + 9 * 3_600_000).toISOString().slice(0, 16) === raw;
  if (!valid || at.getTime() < now + 60 * 60_000 || at.getTime() > now + 30 * 86_400_000) errors.meetupAt = 'meetupAt';
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, value: { place, at: at! } };
}

/** Couriers the seller picks from, and the shape of each one's tracking numbers (digits, dashes ignored). */
export const COURIERS = {
  CJ: /^\d{10,12}$/,
  EPOST: /^\d{13}$/,
  HANJIN: /^\d{10,12}$/,
  LOTTE: /^\d{12}$/,
  LOGEN: /^\d{11}$/,
  GSPOSTBOX: /^\d{10,13}$/,
  CU: /^\d{10,13}$/,
  OTHER: /^[A-Z0-9]{6,30}$/,
} as const;
export type Courier = keyof typeof COURIERS;
export const COURIER_CODES = Object.keys(COURIERS) as Courier[];

export function checkShipment(b: Record<string, unknown>): Checked<{ courier: Courier; trackingNumber: string }> {
  const courier = clean(b.courier) as Courier;
  if (!COURIER_CODES.includes(courier)) return { ok: false, errors: { courier: 'courier' } };
  const trackingNumber = clean(b.trackingNumber).replace(/[\s-]/g, '').toUpperCase();
  if (!COURIERS[courier].test(trackingNumber)) return { ok: false, errors: { trackingNumber: 'trackingNumber' } };
  return { ok: true, value: { courier, trackingNumber } };
}

export const DISPUTE_REASONS = ['NOT_RECEIVED', 'NOT_AS_DESCRIBED', 'DAMAGED', 'OTHER'] as const;
export type DisputeReason = (typeof DISPUTE_REASONS)[number];

export function checkDispute(b: Record<string, unknown>): Checked<{ reason: DisputeReason; body: string }> {
  const errors: Record<string, string> = {};
  const reason = clean(b.reason) as DisputeReason;
  if (!DISPUTE_REASONS.includes(reason)) errors.reason = 'disputeReason';
  const body = typeof b.body === 'string' ? b.body.normalize('NFC').trim() : '';
  if (body.length < 10 || body.length > 2000) errors.body = 'disputeBody';
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, value: { reason, body } };
}

/** Masks a name, phone and address once the order is over (the seller no longer needs them). */
export function maskAddress(a: {
  recipient: string | null;
  phone: string | null;
  postalCode: string | null;
  roadAddress: string | null;
  detailAddress: string | null;
}) {
  const name = a.recipient ? a.recipient.slice(0, 1) + '*'.repeat(Math.max(1, a.recipient.length - 1)) : null;
  const phone = a.phone
    ? a.phone.replace(
        /^(\d+)-(\d+)-(\d+)$/,
        (_, x: string, y: string, z: string) => `${x}-${'*'.repeat(y.length)}-${z}`,
      )
    : null;
  // Keep the district (the first two words of the road address), drop the rest.
  const road = a.roadAddress ? a.roadAddress.split(' ').slice(0, 2).join(' ') + ' ***' : null;
  return {
    recipient: name,
    phone,
    postalCode: a.postalCode ? a.postalCode.slice(0, 2) + '***' : null,
    roadAddress: road,
    detailAddress: a.detailAddress ? '***' : null,
  };
}

/** The platform fee in won: floor(price * bps / 10000); the seller gets price - fee. */
export const feeOf = (price: number, bps: number) => Math.floor((price * bps) / 10_000);

/**
 * The sell form's "정산 예정 금액" for a typed price ("12,000", "12000원"): the same rule as the
 * settlement (feeOf), or null when the text is not a whole number of won.
 */
export function payoutPreview(
  raw: string | undefined,
  bps: number,
): { price: number; fee: number; net: number } | null {
  const s = String(raw ?? '').replace(/[\s,원₩]/g, '');
  if (!/^\d{1,10}$/.test(s)) return null;
  const price = Number(s);
  if (price <= 0) return null;
  const fee = feeOf(price, bps);
  return { price, fee, net: price - fee };
}
