/**
 * Outgoing mail: `app.mail.send(message)` puts the message on the BullMQ `mail` queue and a
 * worker hands it to nodemailer, with retries and a growing backoff, so an SMTP outage delays
 * mail and loses none. The transport: SMTP at `SMTP_URL`; without it, each message is written
 * as `<MAIL_DIR>/<time>-<id>.eml` and its subject and links are logged (npm run up, dev); tests
 * without SMTP_URL keep messages in memory. `app.mail.onSent` reports each delivered message
 * (tests read links from it).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';
import type { Transporter } from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** An HTML alternative to `text` (escaped by its renderer). */
  html?: string;
  /** Extra headers, e.g. List-Unsubscribe. */
  headers?: Record<string, string>;
  /** What kind of message (for logs and metrics), e.g. `accounts.verify`. */
  kind: string;
}

export interface DeliveredMail extends MailMessage {
  messageId: string;
  /** The raw message when it was not sent over SMTP (file and memory transports). */
  raw?: string;
}

export interface Mail {
  /** Queues one message; resolves once it is safely in the queue, not when delivered. */
  send(message: MailMessage): Promise<void>;
  onSent(listener: (m: DeliveredMail) => void): () => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    mail: Mail;
  }
}

export interface MailOptions {
  smtpUrl: string | null;
  from: string;
  dir: string;
  /** No SMTP in tests: messages stay in memory. */
  memory: boolean;
  /**
   * Log the links of each mail written to a file (development: the sign-up link at a glance).
   * Off in production: those links carry live sign-up and password-reset tokens.
   */
  logLinks?: boolean;
}

const QUEUE = 'mail';
/** About 1 s, 2 s, 4 s ... up to ~4.5 hours in all before a message is given up. */
const ATTEMPTS = 15;
const LINK_RE = /https?:\/\/[^\s<>"]+/g;

export const mailPlugin = fp<MailOptions>(
  async (app, opts) => {
    const bus = new EventEmitter();
    bus.setMaxListeners(0);
    // nodemailer (~0.2 s of CPU to import) is loaded for the first message, not at start: most
    // processes (an idle instance, nearly every test) send none. Making a transport opens no
    // connection, so nothing is found out later than before: SMTP problems show on the first send.
    let transport: Promise<Transporter> | undefined;
    const transportOf = () =>
      (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
        opts.smtpUrl
          ? nodemailer.createTransport(opts.smtpUrl)
          : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }),
      ));
    if (!opts.smtpUrl && !opts.memory)
      app.log.info({ dir: opts.dir }, 'SMTP_URL not set: mail is written as .eml files');

    app.queues.worker<MailMessage>(
      QUEUE,
      async (job) => {
        const m = job.data;
        const mailer = await transportOf();
        const info = (await mailer.sendMail({
          from: opts.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          ...(m.html ? { html: m.html } : {}),
          ...(m.headers ? { headers: m.headers } : {}),
        })) as {
          messageId: string;
          message?: Buffer;
        };
        const raw = info.message ? info.message.toString('utf8') : undefined;
        if (!opts.smtpUrl && !opts.memory && raw) {
          await mkdir(opts.dir, { recursive: true });
          const file = path.join(
            opts.dir,
            `${new Date().toISOString().replace(/[:.]/g, '-')}-${job.id ?? randomUUID()}.eml`,
          );
          await writeFile(file, raw);
          app.log.info(
            {
              kind: m.kind,
              to: m.to,
              subject: m.subject,
              ...(opts.logLinks ? { links: m.text.match(LINK_RE) ?? [] } : {}),
              file,
            },
            'mail written',
          );
        } else {
          app.log.info({ kind: m.kind, messageId: info.messageId }, 'mail sent');
        }
        bus.emit('sent', { ...m, messageId: info.messageId, raw } satisfies DeliveredMail);
      },
      { concurrency: 2 },
    );

    app.decorate('mail', {
      async send(message) {
        // Links in a message are secrets for a while: a delivered job is not kept in Redis.
        await app.queues.add(QUEUE, message.kind, message, {
          attempts: ATTEMPTS,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: true,
          removeOnFail: { age: 24 * 3600 },
        });
      },
      onSent(listener) {
        bus.on('sent', listener);
        return () => bus.off('sent', listener);
      },
    } satisfies Mail);
    app.addHook('onClose', async () => {
      if (transport) (await transport).close();
    });
  },
  { name: 'core-mail', dependencies: ['core-queues'] },
);
