/**
 * Roles and the admin guard: every /admin route the app registers is tried as anonymous (login
 * form), USER (403) and, for ADMIN-only routes, MODERATOR (403); an /admin route without
 * requireRole stops the app from starting; role grants and revokes are audited and take effect at
 * once; `npm run admin:create` promotes an existing account and refuses an unknown e-mail; a
 * suspended user is refused at login; the audit log refuses UPDATE and DELETE for every role.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { startApp, Client } from '../helpers/app.js';
import { testConfig, uniq, tsNodeArgs, migratorDatabaseUrl } from '../helpers/env.js';
import { buildApp } from '../../src/app.js';
import { createUserDirect, guardOf, accountsApi } from '../../src/modules/accounts/index.js';
import { transaction } from '../../src/core/db/index.js';
import { csvCell } from '../../src/core/audit.js';
import { auction } from '../helpers/auction.js';

const PASSWORD = 'admin roles test password';

/**
 * The shared machine is loaded (8 helpers on 2 cores): under-pressure may shed a request with 503
 * when the event loop is late. Such a request changed nothing; it is tried again, a bounded number of times.
 */
class PatientClient extends Client {
  override async get(url: string, headers: Record<string, string> = {}) {
    for (let i = 0; ; i++) {
      const r = await super.get(url, headers);
      if (r.statusCode !== 503 || i >= 8) return r;
      await new Promise((res) => setTimeout(res, 500));
    }
  }
  override async post(url: string, form: Record<string, string | null>, headers: Record<string, string> = {}) {
    for (let i = 0; ; i++) {
      const r = await super.post(url, form, headers);
      if (r.statusCode !== 503 || i >= 8) return r;
      await new Promise((res) => setTimeout(res, 500));
    }
  }
}
const run = promisify(execFile);

t.test('admin roles', async (t) => {
  const { app, config } = await startApp(t);
  const mk = (role: 'USER' | 'MODERATOR' | 'ADMIN') => {
    const u = uniq();
    return createUserDirect(app.db, { email: `r${u}@example.com`, nickname: `r${u}`, password: PASSWORD, role });
  };
  const [user, mod, admin] = await Promise.all([mk('USER'), mk('MODERATOR'), mk('ADMIN')]);
  const login = async (email: string) => {
    const c = new PatientClient(app);
    const res = await c.login(email, PASSWORD);
    t.equal(
      res.statusCode,
      303,
      `${email} logs in: ${res.statusCode} ${res.body.slice(0, 0)}${String(res.body.match(/form-error[^<]*<[^<]*/)?.[0] ?? '')}`,
    );
    return c;
  };
  const [asUser, asMod, asAdmin] = [await login(user.email), await login(mod.email), await login(admin.email)];
  const anon = new PatientClient(app);
  await anon.get('/');

  const routes = app.routeTable.filter(
    (r) =>
      (r.url === '/admin' || r.url.startsWith('/admin/')) && [r.method].flat().some((m) => m === 'GET' || m === 'POST'),
  );
  t.ok(routes.length >= 7, `the app has ${routes.length} admin routes`);
  const send = (c: Client, method: string, url: string) => (method === 'GET' ? c.get(url) : c.post(url, {}));
  for (const r of routes) {
    const min = guardOf(r);
    t.ok(min, `${r.url} has a role guard`);
    const url = r.url.replace(/:[A-Za-z]+/g, '1');
    for (const method of [r.method].flat().filter((m) => m === 'GET' || m === 'POST')) {
      const a = await send(anon, method, url);
      t.equal(a.statusCode, 303, `${method} ${url} anonymous: to the login form`);
      t.match(String(a.headers.location), /^\/login/, `${method} ${url} anonymous: location`);
      t.equal((await send(asUser, method, url)).statusCode, 403, `${method} ${url} as USER: 403`);
      const m = await send(asMod, method, url);
      if (min === 'ADMIN') t.equal(m.statusCode, 403, `${method} ${url} as MODERATOR: 403 (ADMIN only)`);
      else t.not(m.statusCode, 403, `${method} ${url} as MODERATOR: allowed`);
    }
  }
  // The moderation routes (moderation: the queue; catalog: banned words) are among them, with the roles they need.
  const expected: [string, string, 'MODERATOR' | 'ADMIN'][] = [
    ['GET', '/admin/reports', 'MODERATOR'],
    ['POST', '/admin/reports/act', 'MODERATOR'],
    ['GET', '/admin/banned-words', 'ADMIN'],
    ['POST', '/admin/banned-words', 'ADMIN'],
    ['POST', '/admin/banned-words/:id/delete', 'ADMIN'],
  ];
  for (const [method, url, role] of expected) {
    const r = routes.find((x) => x.url === url && [x.method].flat().includes(method as never));
    t.ok(r, `${method} ${url} is registered`);
    t.equal(r && guardOf(r), role, `${method} ${url} needs ${role}`);
  }
  for (const page of [
    '/admin',
    '/admin/roles',
    '/admin/audit',
    '/admin/payouts',
    '/admin/dashboard/stats',
    '/admin/reports',
    '/admin/banned-words',
  ])
    t.equal((await asAdmin.get(page)).statusCode, 200, `${page} as ADMIN`);
  t.equal((await asMod.get('/admin')).statusCode, 200, 'the dashboard as MODERATOR');
  t.equal((await asMod.get('/admin/reports')).statusCode, 200, 'the report queue as MODERATOR');
  const dash = await asAdmin.get('/admin');
  t.match(dash.body, /data-testid="admin-nav"/, 'the admin menu is on the page');
  t.match(dash.body, /href="\/admin\/payouts"/, "wallet's menu entry is in it");
  t.match(dash.body, /hx-trigger="every 10s"/, 'the numbers are polled');
  t.notMatch((await asMod.get('/admin')).body, /href="\/admin\/roles"/, 'a moderator does not see ADMIN-only entries');

  // Grant, then revoke: audited, and effective without a new login.
  await asAdmin.get('/admin/roles');
  const grant = await asAdmin.post('/admin/roles', { email: user.email, role: 'MODERATOR', reason: 'helps out' });
  t.equal(grant.statusCode, 303, 'role granted');
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: user.id } })).role, 'MODERATOR');
  t.equal((await asUser.get('/admin')).statusCode, 200, 'the new moderator opens /admin at once');
  await asAdmin.get('/admin/roles');
  await asAdmin.post('/admin/roles', { email: user.email, role: 'USER' });
  t.equal((await asUser.get('/admin')).statusCode, 403, 'revoked: 403 at once, same session');
  const rows = await app.db.auditLog.findMany({
    where: { targetKind: 'user', targetId: String(user.id) },
    orderBy: { id: 'asc' },
  });
  t.same(
    rows.map((r) => [r.action, r.before, r.after, r.actorId, r.actorRole]),
    [
      ['accounts.role.grant', { role: 'USER' }, { role: 'MODERATOR' }, admin.id, 'ADMIN'],
      ['accounts.role.revoke', { role: 'MODERATOR' }, { role: 'USER' }, admin.id, 'ADMIN'],
    ],
    'both changes are in the audit log with before/after',
  );
  t.equal(rows[0].reason, 'helps out');
  t.ok(rows[0].requestId && rows[0].ip, 'request id and IP recorded');
  await asAdmin.get('/admin/roles');
  t.equal(
    (await asAdmin.post('/admin/roles', { email: 'nobody-' + uniq() + '@example.com', role: 'ADMIN' })).statusCode,
    404,
  );
  await asAdmin.get('/admin/roles');
  t.equal((await asAdmin.post('/admin/roles', { email: user.email, role: 'ROOT' })).statusCode, 422);
  await asAdmin.get('/admin/roles');
  t.equal(
    (await asAdmin.post('/admin/roles', { email: admin.email, role: 'USER' })).statusCode,
    409,
    'not your own admin role',
  );

  // The audit page: filters and CSV.
  const page = await asAdmin.get(`/admin/audit?targetKind=user&targetId=${user.id}&action=accounts.role.*`);
  t.match(page.body, /accounts\.role\.revoke/);
  t.equal((await asAdmin.get('/admin/audit?from=2026-13-45')).statusCode, 400, 'a bad date is a clear 400');
  const csv = await asAdmin.get(`/admin/audit.csv?targetKind=user&targetId=${user.id}`);
  t.equal(csv.statusCode, 200);
  t.match(String(csv.headers['content-type']), /text\/csv/);
  t.equal(csv.body.trim().split('\r\n').length, 3, 'header and two rows');
  t.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`, 'formula cells are defused');
  for (const lead of ['+1', '-1', '@SUM(A1)']) t.equal(csvCell(lead)[0], "'", `${lead} is defused`);

  // Suspended: refused at login with its reason; lifted: back in.
  await transaction(app.db, (tx) =>
    accountsApi(app.db).withTx(tx).restrictUser({ id: admin.id, role: 'ADMIN' }, user.id, { suspendDays: 3 }, 'spam'),
  );
  const refused = await new PatientClient(app).login(user.email, PASSWORD);
  t.equal(refused.statusCode, 403, 'a suspended user cannot log in');
  t.match(refused.body, /UTC/, 'and is told until when');
  t.rejects(accountsApi(app.db).assertMayAct(user.id), { code: 'ACCOUNT_RESTRICTED' }, 'nor act (bid, list)');
  // Already logged in before the suspension (a session that outlived it): the bid and the listing are refused.
  const seller = await mk('USER');
  const auctionId = await auction(app, { sellerId: seller.id });
  t.equal(
    (await asUser.post(`/items/${auctionId}/bids`, { amount: '20000' })).statusCode,
    403,
    'a suspended user cannot bid',
  );
  // The check travels inside the bid's transaction; every other answer of the bid route checks first.
  const htmx = { 'hx-request': 'true' };
  for (const [what, url, form] of [
    ['through htmx', `/items/${auctionId}/bids`, { amount: '20000' }],
    ['with a form key', `/items/${auctionId}/bids`, { amount: '20000', requestKey: 'k-1' }],
    ['with the one-click minimum', `/items/${auctionId}/bids`, { amount: '10000', quick: '1' }],
    ['with an amount that is no number', `/items/${auctionId}/bids`, { amount: 'lots' }],
    ['above the largest bid', `/items/${auctionId}/bids`, { amount: '99999999999' }],
    ['on an auction that does not exist', '/items/2147483000/bids', { amount: '20000' }],
  ] as const) {
    const r = await asUser.post(url, form, htmx);
    t.equal(r.statusCode, 403, `a suspended user cannot bid ${what}`);
    t.match(r.body, /UTC/, 'and is told until when');
  }
  const boundary = 'XADMINX';
  const sell = await app.inject({
    method: 'POST',
    url: '/sell',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      cookie: [...asUser.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    },
    payload: `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${asUser.csrf}\r\n--${boundary}--\r\n`,
  });
  t.equal(sell.statusCode, 403, 'a suspended user cannot list');
  t.equal(await app.db.auction.count({ where: { id: auctionId, bidCount: { gt: 0 } } }), 0, 'the bid changed nothing');
  await transaction(app.db, (tx) =>
    accountsApi(app.db).withTx(tx).restrictUser({ id: admin.id, role: 'ADMIN' }, user.id, { lift: true }, null),
  );
  t.equal((await new PatientClient(app).login(user.email, PASSWORD)).statusCode, 303, 'lifted: logs in again');

  // npm run admin:create -- <email>
  const cli = (email: string) =>
    run(process.execPath, [...tsNodeArgs('src/cli/admin-create.ts'), email], {
      env: { ...process.env, DATABASE_URL: config.databaseUrl },
    });
  const promoted = await cli(user.email);
  t.match(promoted.stdout, /is now ADMIN \(was USER\)/);
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: user.id } })).role, 'ADMIN');
  const unknown = await cli(`ghost-${uniq()}@example.com`).then(
    () => null,
    (e: { code: number; stderr: string }) => e,
  );
  t.equal(unknown?.code, 1, 'an unknown e-mail exits 1');
  t.match(unknown?.stderr, /no account with the e-mail/, 'with a clear message');
  t.ok(
    await app.db.auditLog.findFirst({
      where: { action: 'accounts.role.grant', actorRole: 'system', targetId: String(user.id) },
    }),
    'the CLI promotion is audited',
  );
});

t.test('an /admin route without requireRole stops the app', async (t) => {
  const app = await buildApp(await testConfig(), { logger: false });
  t.teardown(() => app.close());
  t.throws(() => app.get('/admin/unguarded', async () => 'open'), /no requireRole guard/);
});

t.test('the audit log refuses UPDATE and DELETE, for the app role and the schema owner', async (t) => {
  const { app } = await startApp(t);
  await app.db.auditLog.create({ data: { actorRole: 'ADMIN', action: 'test.row', targetKind: 'test', targetId: '1' } });
  const row = await app.db.auditLog.findFirstOrThrow({ where: { action: 'test.row' }, orderBy: { id: 'desc' } });
  await t.rejects(
    app.db.auditLog.update({ where: { id: row.id }, data: { reason: 'edited' } }),
    'app role: UPDATE refused',
  );
  await t.rejects(app.db.auditLog.delete({ where: { id: row.id } }), 'app role: DELETE refused');
  const owner = new pg.Client({ connectionString: await migratorDatabaseUrl() });
  await owner.connect();
  t.teardown(() => owner.end());
  await t.rejects(owner.query('UPDATE audit_log SET reason = $1 WHERE id = $2', ['x', row.id]), /append-only: UPDATE/);
  await t.rejects(owner.query('DELETE FROM audit_log WHERE id = $1', [row.id]), /append-only: DELETE/);
  await t.rejects(owner.query('TRUNCATE audit_log'), /append-only: TRUNCATE/);
  t.equal((await app.db.auditLog.findUniqueOrThrow({ where: { id: row.id } })).reason, null, 'the row is unchanged');
});
