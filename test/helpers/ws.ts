/** A WebSocket tab for in-process tests: every frame kept, a wait for the first frame that matches. */
import WebSocket from 'ws';
import type { Client } from './app.js';

/** The Cookie header of a test client's jar (for a socket opened as that client). */
export const cookieOf = (c: Client) => [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

export function socket(url: string, cookie?: string) {
  const ws = new WebSocket(url, { headers: cookie ? { cookie } : {} });
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  /** The first frame (kept so far or arriving within `ms`) that `pred` accepts; null after `ms`. */
  const waitMsg = async (pred: (m: string) => boolean, ms = 15_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = messages.find(pred);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    return null;
  };
  return { ws, messages, ready, waitMsg, all: () => messages.join('\n') };
}
