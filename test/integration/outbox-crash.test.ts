/**
 * A durable event survives its process: the process that closed an auction is SIGKILLed after
 * the close committed and before the event was delivered (its relay paused, OUTBOX_RELAY=off);
 * a restarted process delivers it, and its consumer (here shaped like orders': the winner's hold
 * moves to escrow in the consumer's transaction) runs exactly once.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { REDIS_URL, ROOT, ownDatabase, tsNodeArgs } from '../helpers/env.js';
import { startApp } from '../helpers/app.js';
import { freePort } from '../helpers/redis.js';
import { user, auction, loggedIn, bid, waitFor, balances } from '../helpers/auction.js';
import { ledgerViolations } from '../helpers/wallet.js';

t.test('SIGKILL between the close and its delivery: the restarted process delivers it, once', async (t) => {
  const databaseUrl = await ownDatabase(t);
  const shared = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: `tcrash${randomBytes(4).toString('hex')}`,
    SESSION_SECRET: 'outbox-crash-secret-'.padEnd(40, 'x'),
    SOFT_CLOSE_SECONDS: '0',
  };
  const probeLog = path.join(mkdtempSync(path.join(os.tmpdir(), 'dapanda-outbox-')), 'probe.log');
  const lines = () =>
    existsSync(probeLog)
      ? readFileSync(probeLog, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { eventId: string; auctionId: number })
      : [];
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const worker = async (env: Record<string, string>) => {
    const child = spawn(process.execPath, [...tsNodeArgs('test/fixtures/outbox-node.ts'), probeLog], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        ROLE: 'worker',
        METRICS_PORT: String(await freePort()),
        LOG_LEVEL: 'info',
        AUCTION_SWEEP_MS: '500',
        OUTBOX_POLL_MS: '200',
        ...shared,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const up = await waitFor(async () => out.includes('DAPANDA worker running'), 30_000, 100);
    t.ok(up, `worker ${child.pid} running (${env.OUTBOX_RELAY === 'off' ? 'relay paused' : 'relay on'})`);
    if (!up) t.comment(out.slice(-2000));
    return { child, out: () => out };
  };

  // The test's own process serves HTTP only (ROLE=web: no jobs, no relay): only the workers close and deliver.
  const { app, config } = await startApp(t, { ...shared, ROLE: 'web' });
  const first = await worker({ OUTBOX_RELAY: 'off' });
  const seller = await user(app, config);
  const buyer = await user(app, config, 100_000);
  // Logged in before the auction starts its 4 s: on a loaded machine the login (argon2) alone took
  // longer than the auction's whole life, and the bid came too late (422).
  const bc = await loggedIn(app, buyer.email);
  const id = await auction(app, { sellerId: seller.id, startPrice: 10_000, endsInMs: 4_000 });
  t.equal((await bid(bc, id, 30_000)).statusCode, 200);

  const closedRow = () =>
    app.db.outboxEvent.findFirst({ where: { name: 'auction.closed', payload: { path: ['auctionId'], equals: id } } });
  const closed = await waitFor(async () => (await closedRow()) !== null, 15_000);
  t.ok(closed, 'the worker closed the auction, its event committed with the close');
  if (!closed) return void t.comment(first.out().slice(-3000));
  const committed = (await closedRow())!;
  t.equal((await app.db.auction.findUniqueOrThrow({ where: { id } })).status, 'ENDED');
  t.equal(committed.deliveredAt, null, 'not delivered yet');

  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  t.equal(first.child.signalCode, 'SIGKILL', 'the closing process is gone without a chance to clean up');
  t.same(lines(), [], 'its consumer never ran');
  t.equal(
    (await app.db.walletHold.findUniqueOrThrow({ where: { reference: `auction:${id}:won` } })).status,
    'HELD',
    "the winner's points are held, not yet escrowed",
  );

  const second = await worker({ OUTBOX_RELAY: 'on' });
  t.ok(
    await waitFor(async () => (await closedRow())?.deliveredAt != null, 15_000, 50),
    'the restarted process delivered it',
  );
  await new Promise((r) => setTimeout(r, 1500)); // room for a wrong second delivery
  const runs = lines().filter((l) => l.auctionId === id);
  t.same(
    runs.map((l) => l.eventId),
    [committed.id.toString()],
    "the consumer's work committed exactly once",
  );
  t.equal(runs.length, 1);
  const hold = await app.db.walletHold.findUniqueOrThrow({ where: { reference: `auction:${id}:won` } });
  t.same(
    [hold.status, hold.orderId, hold.amount],
    ['ESCROWED', id, 10_000],
    'the hold of the final price moved to escrow',
  );
  t.equal((await app.db.walletEscrow.findUniqueOrThrow({ where: { orderId: id } })).amount, 10_000);
  t.same(await balances(app, buyer.id), { available: 90_000, held: 0 });
  const escrowTx = await app.db.ledgerTransaction.count({ where: { kind: 'ESCROW', reference: `auction:${id}:won` } });
  t.equal(escrowTx, 1, 'one escrow posting');
  t.same(await ledgerViolations(app), []);
  t.notMatch(second.out(), /durable event consumer failed|"level":60/, 'no failed delivery on the restarted process');
  second.child.kill('SIGTERM');
  await new Promise((r) => second.child.once('exit', r));
});
