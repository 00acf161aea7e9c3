/**
 * Which sessions belong to whom: each login adds its session id to the user's set in Redis, so a
 * password reset can end every session of that user (a thief logged in elsewhere included).
 */
import type { Redis } from 'ioredis';
import { sessionKey, SESSION_TTL_SECONDS } from '../../core/security.js';

const setKey = (prefix: string, userId: number) => `${prefix}:user-sessions:${userId}`;

export async function rememberSession(redis: Redis, prefix: string, userId: number, sid: string): Promise<void> {
  await redis.multi().sadd(setKey(prefix, userId), sid).expire(setKey(prefix, userId), SESSION_TTL_SECONDS).exec();
}

/** Ends every session of the user; returns how many were still alive. */
export async function endAllSessions(redis: Redis, prefix: string, userId: number): Promise<number> {
  const sids = await redis.smembers(setKey(prefix, userId));
  const keys = sids.map((sid) => sessionKey(prefix, sid));
  const ended = keys.length ? await redis.del(...keys) : 0;
  await redis.del(setKey(prefix, userId));
  return ended;
}

/** Takes one session out of the user's set (it stays alive; endAllSessions no longer ends it). */
export async function forgetSession(redis: Redis, prefix: string, userId: number, sid: string): Promise<void> {
  await redis.srem(setKey(prefix, userId), sid);
}
