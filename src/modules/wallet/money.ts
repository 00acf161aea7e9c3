/** Reading amounts and bank details typed by people: clear refusals instead of guesses. */

export const TOPUP_MIN = 1_000;
export const TOPUP_MAX = 10_000_000;
export const WITHDRAW_MIN = 10_000;
export const WITHDRAW_MAX = 50_000_000;

export type Parsed<T> = { ok: true; value: T } | { ok: false; key: string; params?: Record<string, unknown> };

/**
 * Whole won from a form field. Accepts "10000", "10,000", "10 000" and "10,000원"; refuses
 * empty, non-numeric, fractional, zero/negative and out-of-range amounts with a message key.
 */
export function parseWon(raw: unknown, limits: { min: number; max: number }): Parsed<number> {
  const s = String(raw ?? '')
    .trim()
    .replace(/[,\s_]/g, '')
    .replace(/(원|won|krw|₩)$/i, '')
    .replace(/^₩/, '');
  if (s === '') return { ok: false, key: 'wallet.errors.amountRequired' };
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s)) return { ok: false, key: 'wallet.errors.amountNotNumber' };
  const [, frac = ''] = s.split('.');
  if (/[1-9]/.test(frac)) return { ok: false, key: 'wallet.errors.amountNotInteger' };
  const n = Number(s.split('.')[0] || '0');
  if (n <= 0) return { ok: false, key: 'wallet.errors.amountPositive' };
  if (!Number.isSafeInteger(n) || n > limits.max)
    return { ok: false, key: 'wallet.errors.amountMax', params: { max: limits.max.toLocaleString('en-US') } };
  if (n < limits.min)
    return { ok: false, key: 'wallet.errors.amountMin', params: { min: limits.min.toLocaleString('en-US') } };
  return { ok: true, value: n };
}

/** Korean banks and their KFTC codes; names come from the locale (`wallet.banks.b<code>`). */
export const BANK_CODES = [
  '004',
  '088',
  '020',
  '081',
  '011',
  '003',
  '090',
  '092',
  '089',
  '023',
  '027',
  '032',
  '031',
  '039',
  '034',
  '037',
  '035',
  '007',
  '071',
  '045',
  '048',
] as const;

export interface BankInput {
  bankCode: string;
  accountNumber: string;
  holderName: string;
}

export type BankErrors = Partial<Record<keyof BankInput, string>>;

export function checkBank(raw: Partial<BankInput>): { value: BankInput; errors: BankErrors } {
  const value = {
    bankCode: String(raw.bankCode ?? '').trim(),
    accountNumber: String(raw.accountNumber ?? '')
      .trim()
      .replace(/\s/g, ''),
    holderName: String(raw.holderName ?? '')
      .trim()
      .replace(/\s+/g, ' ')
      .normalize('NFC'),
  };
  const errors: BankErrors = {};
  if (!(BANK_CODES as readonly string[]).includes(value.bankCode)) errors.bankCode = 'wallet.errors.bankRequired';
  const digits = value.accountNumber.replace(/-/g, '');
  if (!/^\d+(-\d+)*$/.test(value.accountNumber) || digits.length < 10 || digits.length > 16)
    errors.accountNumber = 'wallet.errors.accountNumber';
  if (!value.holderName) errors.holderName = 'wallet.errors.holderRequired';
  else if ([...value.holderName].length > 20 || !/^[\p{L} .·-]+$/u.test(value.holderName))
    errors.holderName = 'wallet.errors.holderInvalid';
  return { value, errors };
}

/** Shows only the last 4 digits of an account number on lists. */
export const maskAccount = (n: string) => n.replace(/\d(?=(?:\D*\d){4})/g, '*');

/** Idempotency keys the forms carry: random, URL-safe, bounded. */
export const isRequestKey = (k: unknown): k is string => typeof k === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(k);
