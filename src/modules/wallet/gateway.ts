/**
 * Card payments for top-ups. `PaymentGateway` is what the wallet needs from a payment company
 * (a real Korean PG such as Toss Payments would be a second implementation); `TestCardGateway`
 * simulates one with well-known test card numbers. Both are idempotent on the caller's key: a
 * charge repeated with the same key returns the first payment instead of charging again, and
 * `status(key)` answers what happened to a charge whose answer never arrived.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface ChargeRequest {
  idempotencyKey: string;
  amount: number;
  cardNumber: string;
  description: string;
}

export interface GatewayPayment {
  paymentId: string;
  idempotencyKey: string;
  amount: number;
  status: 'SUCCEEDED' | 'DECLINED';
  /** Why the card company refused, when DECLINED: `declined`, `insufficient_funds`. */
  declineCode?: string;
}

/** The gateway did not answer in time: the charge may or may not have happened. Ask `status()`. */
export class GatewayTimeoutError extends Error {
  constructor(message = 'payment gateway timed out') {
    super(message);
    this.name = 'GatewayTimeoutError';
  }
}

/** The gateway refused the request itself (nothing was charged), e.g. a key reused with another amount. */
export class GatewayRequestError extends Error {
  constructor(readonly code: string) {
    super(`payment gateway refused the request: ${code}`);
    this.name = 'GatewayRequestError';
  }
}

export interface PaymentGateway {
  readonly name: string;
  charge(req: ChargeRequest): Promise<GatewayPayment>;
  status(idempotencyKey: string): Promise<GatewayPayment | null>;
}

export type TestCardOutcome = 'success' | 'declined' | 'insufficient_funds' | 'timeout';

/** The test cards, shown on the top-up page. Any other valid card number succeeds. */
export const TEST_CARDS: readonly { number: string; outcome: TestCardOutcome }[] = [
  { number: '4242 4242 4242 4242', outcome: 'success' },
  { number: '4000 0000 0000 0002', outcome: 'declined' },
  { number: '4000 0000 0000 9995', outcome: 'insufficient_funds' },
  { number: '4000 0000 0000 0119', outcome: 'timeout' },
];

export const cardDigits = (card: string) => card.replace(/[\s-]/g, '');

/** Luhn checksum: catches a mistyped card number before anything is sent to the gateway. */
export function isValidCardNumber(card: string): boolean {
  const d = cardDigits(card);
  if (!/^\d{13,19}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = Number(d[d.length - 1 - i]);
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

export function testCardOutcome(card: string): TestCardOutcome {
  const d = cardDigits(card);
  return TEST_CARDS.find((c) => cardDigits(c.number) === d)?.outcome ?? 'success';
}

/**
 * The simulated card company. It remembers payments by idempotency key in Redis (like a real
 * PG, its memory outlives our process), for 7 days. The timeout card is the nasty case: the
 * payment goes through on the gateway's side but the answer is lost.
 */
export function createTestCardGateway(opts: { redis: Redis; prefix: string }): PaymentGateway {
  const keyOf = (k: string) => `${opts.prefix}:testpg:${k}`;
  const TTL = 7 * 24 * 3600;
  const read = async (k: string): Promise<GatewayPayment | null> => {
    const raw = await opts.redis.get(keyOf(k));
    return raw ? (JSON.parse(raw) as GatewayPayment) : null;
  };
  return {
    name: 'test-card',
    status: read,
    async charge(req) {
      if (!isValidCardNumber(req.cardNumber)) throw new GatewayRequestError('invalid_card');
      const outcome = testCardOutcome(req.cardNumber);
      const payment: GatewayPayment = {
        paymentId: `tpg_${randomUUID()}`,
        idempotencyKey: req.idempotencyKey,
        amount: req.amount,
        status: outcome === 'declined' || outcome === 'insufficient_funds' ? 'DECLINED' : 'SUCCEEDED',
        ...(outcome === 'declined' || outcome === 'insufficient_funds' ? { declineCode: outcome } : {}),
      };
      const stored = await opts.redis.set(keyOf(req.idempotencyKey), JSON.stringify(payment), 'EX', TTL, 'NX');
      if (stored !== 'OK') {
        const first = await read(req.idempotencyKey);
        if (first && first.amount !== req.amount) throw new GatewayRequestError('idempotency_key_reused');
        if (first) return first;
      }
      if (outcome === 'timeout') throw new GatewayTimeoutError();
      return payment;
    },
  };
}
