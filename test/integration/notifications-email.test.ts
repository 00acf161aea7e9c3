/**
 * The e-mail channel over a real SMTP server in the test process: subject, plain-text and HTML
 * parts and links; preferences (kinds, daily digest); the login-free unsubscribe link; an SMTP
 * outage delays mail and loses none, and nothing arrives twice.
 */
import t from 'tap';
import { startApp, Client } from '../helpers/app.js';
import { user, loggedIn, waitFor } from '../helpers/auction.js';
import { smtpServer } from '../helpers/smtp.js';
import { notificationsOf } from '../../src/modules/notifications/index.js';
import type { Kind } from '../../src/modules/notifications/kinds.js';

let seq = 0;
const item = (userId: number, kind: Kind = 'won', title = '카메라') => ({
  userId,
  kind,
  sourceKey: `mail-test:${userId}:${++seq}:${Date.now()}`,
  params: { auctionId: 7, title, price: 123_000 },
  link: '/items/7',
});

t.test('a notification mail: subject, text and HTML parts, links; unsubscribe without login', async (t) => {
  const smtp = await smtpServer(t);
  const { app, config } = await startApp(t, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
  const u = await user(app, config);
  await notificationsOf(app).notifyNow([item(u.id, 'won', '<script>alert("x")</script> 카메라')]);
  t.ok(await smtp.waitFor(1), 'delivered over SMTP');
  const m = smtp.received[0];
  t.equal(m.to, u.email);
  t.equal(m.subject, '[다판다] 축하해요! "<script>alert("x")</script> 카메라" 경매에서 123,000원에 낙찰받았어요.');
  t.match(m.text, '123,000원에 낙찰받았어요', 'plain text');
  t.match(m.html, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 카메라', 'HTML part escaped');
  t.notMatch(m.html, '<script>');
  t.ok(m.links.includes(`${config.publicUrl}/items/7`), 'links to the item');
  const unsub = m.links.find((l) => l.includes('/notifications/unsubscribe?token='));
  t.ok(unsub, 'an unsubscribe link');
  t.match(m.headers.get('list-unsubscribe') ?? '', '/notifications/unsubscribe?token=', 'List-Unsubscribe header');
  const row = await app.db.notification.findFirstOrThrow({ where: { userId: u.id } });
  t.equal(row.mailState, 'QUEUED');

  // No login: the link's page, then its button.
  const anon = new Client(app, '10.9.0.1');
  const path = new URL(unsub!).pathname + new URL(unsub!).search;
  const page = await anon.get(path);
  t.equal(page.statusCode, 200);
  t.match(page.body, u.email);
  const token = new URL(unsub!).searchParams.get('token')!;
  const done = await anon.post('/notifications/unsubscribe', { token });
  t.equal(done.statusCode, 200);
  t.match(done.body, '이메일 알림을 껐어요');
  t.equal((await app.db.notificationPref.findUniqueOrThrow({ where: { userId: u.id } })).unsubscribed, true);
  // Tampered or someone else's tokens do nothing.
  const other = await user(app, config);
  const forged = token.replace(/^\d+-/, `${other.id}-`);
  t.equal((await anon.post('/notifications/unsubscribe', { token: forged })).statusCode, 400);
  t.equal((await anon.get(`/notifications/unsubscribe?token=${forged}`)).statusCode, 400);
  t.equal((await anon.post('/notifications/unsubscribe', { token: 'x'.repeat(81) })).statusCode, 400);
  t.equal(await app.db.notificationPref.count({ where: { userId: other.id } }), 0, 'nothing changed for them');

  await notificationsOf(app).notifyNow([item(u.id)]);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(smtp.received.length, 1, 'unsubscribed: no more mail');
  t.equal(await app.db.notification.count({ where: { userId: u.id } }), 2, 'the inbox still gets it');
});

t.test('preferences: only chosen kinds by mail; the daily digest is one mail', async (t) => {
  const smtp = await smtpServer(t);
  const { app, config } = await startApp(t, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
  const u = await user(app, config);
  const c = await loggedIn(app, u.email);
  t.equal((await c.get('/notifications/settings')).statusCode, 200);
  t.equal((await c.post('/notifications/settings', { email: 'won' })).statusCode, 303);
  t.equal((await c.post('/notifications/settings', { email: 'nonsense' })).statusCode, 400, 'unknown kind refused');
  t.same((await app.db.notificationPref.findUniqueOrThrow({ where: { userId: u.id } })).emailKinds, ['won']);
  await notificationsOf(app).notifyNow([item(u.id, 'outbid'), item(u.id, 'won')]);
  t.ok(await smtp.waitFor(1));
  await new Promise((r) => setTimeout(r, 800));
  t.equal(smtp.received.length, 1, 'only the chosen kind');
  t.match(smtp.received[0].subject, '낙찰');

  t.equal((await c.post('/notifications/settings', { email: 'won', digest: '1' })).statusCode, 303);
  await notificationsOf(app).notifyNow([item(u.id, 'won', '첫째'), item(u.id, 'won', '둘째')]);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(smtp.received.length, 1, 'digest: nothing at once');
  await app.queues.runNow('notifications-digest');
  t.ok(await smtp.waitFor(2), 'the digest');
  const d = smtp.received[1];
  t.equal(d.subject, '[다판다] 오늘의 알림 2개');
  t.match(d.text, '첫째');
  t.match(d.text, '둘째');
  await app.queues.runNow('notifications-digest');
  await new Promise((r) => setTimeout(r, 800));
  t.equal(smtp.received.length, 2, 'once a day at most');
});

t.test('SMTP down for a while: every mail arrives after it returns, once', async (t) => {
  const smtp = await smtpServer(t);
  const { app, config } = await startApp(t, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
  const users = await Promise.all([1, 2, 3].map(() => user(app, config)));
  await smtp.stop();
  for (const u of users) await notificationsOf(app).notifyNow([item(u.id)]);
  t.ok(
    await waitFor(
      async () =>
        (await app.db.notification.count({
          where: { userId: { in: users.map((u) => u.id) }, mailState: 'QUEUED' },
        })) === 3,
    ),
    'queued while SMTP is down',
  );
  await new Promise((r) => setTimeout(r, 4000)); // the outage: sends fail and back off
  t.equal(smtp.received.length, 0);
  await smtp.start();
  t.ok(await smtp.waitFor(3, 40_000), 'all three arrive after the outage');
  await new Promise((r) => setTimeout(r, 2000));
  t.same(smtp.received.map((m) => m.to).sort(), users.map((u) => u.email).sort(), 'each exactly once');
});
