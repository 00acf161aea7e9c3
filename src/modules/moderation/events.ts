/**
 * The events moderation emits. `user.warned` is durable: a warning is a message the user is owed
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

declare module '../../core/events.js' {
  interface DomainEvents {
    'user.warned': UserWarned;
  }
  interface DurableEvents {
    'user.warned': true;
  }
}

export const userWarned = (e: UserWarned) => domainEvent('user.warned', e);
