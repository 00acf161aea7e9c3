/**
 * The events moderation emits. `user.warned` and `user.sanctioned` are durable: a warning is a message the user is owed
 * (the notifications module writes it to their inbox, once per event).
 */
import { domainEvent } from '../../core/events.js';
import type { ReportTargetKind } from '../../core/report-targets.js';

export type UserWarned = {
  userId: number;
  /** What the reports were about. */
  targetKind: ReportTargetKind;
  targetId: number;
  /** The moderator's words to the user (plain text, escaped where shown). */
  note: string;
};

/**
 * A moderator suspended or an admin banned a user (durable, enqueued in the action's transaction):
 * the notifications module tells the user in their inbox and by mail. (accounts' live
 * `user.restricted`, emitted after the commit, ends their sessions; this one is the notice they are owed.)
 */
export type UserSanctioned = {
  userId: number;
  kind: 'suspended' | 'banned';
  /** ISO time the suspension ends; null for a ban. */
  until: string | null;
  /** The moderator's reason, as the user reads it (plain text, escaped where shown). */
  note: string;
};

/**
 * A moderator hid or restored a listing, a question or a chat line (live, emitted after the commit):
 * the pages that show it are stale (catalog's anonymous page cache). `listingId`: the listing whose
 * page shows the thing (the listing itself, a question's), null for a chat line.
 */
export type ContentModerated = {
  kind: ReportTargetKind;
  targetId: number;
  hidden: boolean;
  listingId: number | null;
};

declare module '../../core/events.js' {
  interface DomainEvents {
    'user.warned': UserWarned;
    'user.sanctioned': UserSanctioned;
    'content.moderated': ContentModerated;
  }
  interface DurableEvents {
    'user.warned': true;
    'user.sanctioned': true;
  }
}

export const userWarned = (e: UserWarned) => domainEvent('user.warned', e);
export const userSanctioned = (e: UserSanctioned) => domainEvent('user.sanctioned', e);
export const contentModerated = (e: ContentModerated) => domainEvent('content.moderated', e);
