/**
 * Login throttling that cannot be turned against the account's owner. Failures are counted per
 * (account, address) and per address, never per account alone: guessing from one address slows
 * down that address, with growing delays, while the owner logging in from elsewhere is not
 * affected. Counters live in Redis (every instance agrees) and forget after 15 quiet minutes.
 *
 * (account, address): the first 4 failures are free; then each failure blocks the next attempt
 *   for 30 s, 1, 2, 4, 8 min ... at most 15 min.
 * address (any account): 20 free, then the same growing delays (one address trying many accounts).
 */
import type { Redis } from 'ioredis';

export const WINDOW_SECONDS = 15 * 60;
const MAX_DELAY_MS = 15 * 60 * 1000;
const BASE_DELAY_MS = 30 * 1000;

const RULES = [
  { scope: 'acct-ip', free: 4 },
  { scope: 'ip', free: 20 },
] as const;

/** The wait after `failures` failures in a row under a rule that allows `free` of them. */
export function delayAfter(failures: number, free: number): number {
  if (failures <= free) return 0;
  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (failures - free - 1));
}

export function throttle(redis: Redis, prefix: string) {
  const keys = (email: string, ip: string) => [`${prefix}:login:acct-ip:${email}:${ip}`, `${prefix}:login:ip:${ip}`];
  return {
    /** Seconds until this (account, address) may try again; 0 when it may now. */
    async waitSeconds(email: string, ip: string): Promise<number> {
      const block = keys(email, ip).map((k) => `${k}:block`);
      const ms = await Promise.all(block.map((k) => redis.pttl(k)));
      const wait = Math.max(0, ...ms);
      return wait > 0 ? Math.ceil(wait / 1000) : 0;
    },
    /** Counts a failure; returns the seconds before the next attempt is allowed (0: at once). */
    async failed(email: string, ip: string): Promise<number> {
      const ks = keys(email, ip);
      const multi = redis.multi();
      for (const k of ks) multi.incr(k).expire(k, WINDOW_SECONDS);
      const res = (await multi.exec()) ?? [];
      let wait = 0;
      const blocks = redis.multi();
      RULES.forEach((rule, i) => {
        const n = Number(res[i * 2]?.[1] ?? 0);
        const ms = delayAfter(n, rule.free);
        if (ms > 0) {
          blocks.set(`${ks[i]}:block`, '1', 'PX', ms);
          wait = Math.max(wait, ms);
        }
      });
      if (wait > 0) await blocks.exec();
      return Math.ceil(wait / 1000);
    },
    /** A good password (or a password reset) from this address: its (account, address) count starts again. */
    async succeeded(email: string, ip: string): Promise<void> {
      const [k] = keys(email, ip);
      await redis.del(k, `${k}:block`);
    },
  };
}
export type Throttle = ReturnType<typeof throttle>;
