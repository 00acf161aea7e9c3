/**
 * The events accounts emits. `user.restricted` is live: accounts itself ends the user's sessions
 * on the instance where it happened (the sessions are in Redis, shared by every instance), and the
 * notifications module can tell the user; a lost one changes nothing that matters, because the
 * restriction is read from the database at login, bid and listing.
 */
import { domainEvent } from '../../core/events.js';

export type UserRestricted = {
  userId: number;
  kind: 'suspended' | 'banned' | 'lifted' | 'warned';
  /** ISO date the suspension ends (suspended only). */
  until: string | null;
  reason: string | null;
};

declare module '../../core/events.js' {
  interface DomainEvents {
    'user.restricted': UserRestricted;
  }
}

export const userRestricted = (e: UserRestricted) => domainEvent('user.restricted', e);
