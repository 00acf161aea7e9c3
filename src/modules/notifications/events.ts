/**
 * The events notifications emits, live. `notification.changed` tells every instance that a
 * user's inbox changed (a new item, a coalesced one, items read), so each instance pushes the
 * fresh bell to that user's tabs (topic `user:<id>`). Losing one is harmless: a tab re-syncs its
 * bell when its socket reconnects, and the inbox page reads PostgreSQL. `notifications.changed`
 * is the same for many users at once (one write that told many people).
 */
import { domainEvent } from '../../core/events.js';

export type NotificationChanged = {
  userId: number;
  /** The newest notification written (null: items were read). */
  notificationId: string | null;
};

/** Many users' inboxes changed by one write (a fan-out: an auction's watchers): one message, one query per instance. */
export type NotificationsChanged = { users: NotificationChanged[] };

declare module '../../core/events.js' {
  interface DomainEvents {
    'notification.changed': NotificationChanged;
    'notifications.changed': NotificationsChanged;
  }
}

export const notificationChanged = (userId: number, notificationId: string | null) =>
  domainEvent('notification.changed', { userId, notificationId });
export const notificationsChanged = (users: NotificationChanged[]) => domainEvent('notifications.changed', { users });
