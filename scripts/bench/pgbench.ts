/** pgbench's figure for the bare bid transaction (UPDATE the auction row + INSERT the bid) on the bench's database. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const SCRIPT = (pick: string) => `${pick}
\\set bidder random(:blo, :bhi)
BEGIN;
UPDATE auctions SET current_price = current_price + 100, bid_count = bid_count + 1, leader_id = :bidder, leader_max = current_price + 100, updated_at = now() WHERE id = :auction RETURNING current_price AS price \\gset
INSERT INTO bids (auction_id, bidder_id, amount, max_amount, kind, created_at, updated_at) VALUES (:auction, :bidder, :price, :price, 'MANUAL', now(), now());
END;
`;

export interface PgbenchResult {
  tps: number;
  transactions: number;
  latencyMs: number;
  clients: number;
  seconds: number;
}

/** `auctions`: one id (the hot row) or a contiguous range [lo, hi]. */
export async function pgbench(
  databaseUrl: string,
  o: { auctions: [number, number]; bidders: [number, number]; clients: number; seconds: number },
): Promise<PgbenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dapanda-pgbench-'));
  try {
    const file = path.join(dir, 'bid.sql');
    const pick =
      o.auctions[0] === o.auctions[1]
        ? `\\set auction ${o.auctions[0]}`
        : `\\set auction random(${o.auctions[0]}, ${o.auctions[1]})`;
    writeFileSync(file, SCRIPT(pick));
    const u = new URL(databaseUrl);
    const args = [
      '-n',
      '-M',
      'prepared',
      '-f',
      file,
      '-c',
      String(o.clients),
      '-j',
      '2',
      '-T',
      String(o.seconds),
      '-D',
      `blo=${o.bidders[0]}`,
      '-D',
      `bhi=${o.bidders[1]}`,
    ];
    args.push(
      '-h',
      u.hostname,
      '-p',
      u.port || '5432',
      '-U',
      decodeURIComponent(u.username || 'postgres'),
      u.pathname.slice(1),
    );
    const env = { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) };
    const { stdout } = await run('pgbench', args, { env, timeout: (o.seconds + 30) * 1000 });
    const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
    const tps = num(/tps = ([\d.]+) \(without initial connection time\)/);
    if (!Number.isFinite(tps)) throw new Error(`pgbench output not understood:\n${stdout}`);
    return {
      tps,
      transactions: num(/number of transactions actually processed: (\d+)/),
      latencyMs: num(/latency average = ([\d.]+) ms/),
      clients: o.clients,
      seconds: o.seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
