/**
 * The events notifications emits: one, live. `notification.changed` tells every instance that a
 * user's inbox changed (a new item, a coalesced one, items read), so each instance pushes the
 * fresh bell to that user's tabs (topic `user:<id>`). Losing one is harmless: a tab re-syncs its
 * bell when its socket reconnects, and the inbox page reads PostgreSQL.
 */
import { domainEvent } from '../../core/events.js';

export type NotificationChanged = {
  userId: number;
  /** The newest notification written (null: items were read). */
  notificationId: string | null;
};

declare module '../../core/events.js' {
  interface DomainEvents {
    'notification.changed': NotificationChanged;
  }
}

export const notificationChanged = (userId: number, notificationId: string | null) =>
  domainEvent('notification.changed', { userId, notificationId });
