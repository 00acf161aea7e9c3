/** Mail a test's app sent (core/mail.ts reports each delivered message), and the links in it. */
import type { App } from '../../src/app.js';
import type { DeliveredMail } from '../../src/core/mail.js';

export interface Waiting extends Promise<DeliveredMail> {
  cancel(): void;
}

/** The next message delivered to `to` (call before the request that sends it). */
export function waitForMail(app: App, to: string, timeoutMs = 45_000): Waiting {
  let off = () => {};
  let timer: NodeJS.Timeout | undefined;
  const p = new Promise<DeliveredMail>((resolve, reject) => {
    off = app.mail.onSent((m) => {
      if (m.to !== to) return;
      off();
      clearTimeout(timer);
      resolve(m);
    });
    timer = setTimeout(() => {
      off();
      reject(new Error(`no mail to ${to} within ${timeoutMs} ms`));
    }, timeoutMs);
  }) as Waiting;
  p.cancel = () => {
    off();
    clearTimeout(timer);
  };
  p.catch(() => {});
  return p;
}

/** The path (with query) of the first link in a message that goes to `path`. */
export function linkIn(m: DeliveredMail, path: string): string | null {
  const re = new RegExp(`https?://[^\\s/]+(${path.replace(/[?.]/g, '\\$&')}\\?token=[A-Za-z0-9_-]+)`);
  return re.exec(m.text)?.[1] ?? null;
}
