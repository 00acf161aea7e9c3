/**
 * Demo data that tells the truth (issue 15 item 5). The demo accounts, six sellers and four
 * buyers who joined months or years before anything they sell; every item of seed-items.ts listed
 * once (no duplicate titles), with its own condition and a description that agrees with it; photos
 * drawn per kind of object (seed-photos.ts). Auctions as bidding keeps them: real bid rows rising by
 * the increment rule, the leader's points held in the wallet; ended auctions with an order in each
 * state (escrow, payout or refund posted in the ledger), reviews for completed trades, a dispute.
 * The demo user (demo@dapanda.kr / dapanda-demo-1234) has something in every my-page tab.
 *
 * Idempotent: accounts are upserted, and the rest is added only while the demo sellers have no
 * listing. `npm run db:seed` (DATABASE_URL, STORAGE_DIR as for the app); prints its time.
 */
import { loadConfig } from '../src/config.js';
import { createDb, type Db } from '../src/core/db/index.js';
import { LocalDiskStorage } from '../src/core/storage.js';
import { createUserDirect } from '../src/modules/accounts/index.js';
import { writeFiles } from '../src/modules/catalog/photos.js';
import { walletApi } from '../src/modules/wallet/index.js';
import { inTransaction, claim, lockAccounts, post, acct } from '../src/modules/wallet/ledger.js';
import { increment } from '../src/modules/bidding/engine.js';
import { holdRef } from '../src/modules/bidding/plan.js';
import { wonHoldRef } from '../src/modules/bidding/auction-row.js';
import { feeOf } from '../src/modules/orders/index.js';
import { ITEMS, PHRASES } from './seed-items.js';
import { photoMaker } from './seed-photos.js';

export const PASSWORD = 'dapanda-demo-1234';
export const DEMO = { email: 'demo@dapanda.kr', nickname: '다판다데모', joinedDaysAgo: 420 };
export const SELLERS = [
  { email: 'seller@dapanda.kr', nickname: '판다셀러', joinedDaysAgo: 980 },
  { email: 'seller2@dapanda.kr', nickname: '망원동고양이', joinedDaysAgo: 860 },
  { email: 'seller3@dapanda.kr', nickname: '캠핑러버', joinedDaysAgo: 640 },
  { email: 'seller4@dapanda.kr', nickname: '책방지기', joinedDaysAgo: 1210 },
  { email: 'seller5@dapanda.kr', nickname: '겜돌이', joinedDaysAgo: 510 },
  { email: 'seller6@dapanda.kr', nickname: '육아맘', joinedDaysAgo: 730 },
];
export const BUYERS = [
  { email: 'buyer1@dapanda.kr', nickname: '알뜰살뜰', joinedDaysAgo: 300 },
  { email: 'buyer2@dapanda.kr', nickname: '득템왕', joinedDaysAgo: 250 },
  { email: 'buyer3@dapanda.kr', nickname: '새벽입찰러', joinedDaysAgo: 190 },
  { email: 'buyer4@dapanda.kr', nickname: '합정동민', joinedDaysAgo: 120 },
];

const DAY = 86_400_000;
const HOUR = 3_600_000;
type OrderState =
  'AWAITING_ADDRESS' | 'AWAITING_SHIPMENT' | 'SHIPPED' | 'RECEIVED' | 'COMPLETED' | 'CANCELLED' | 'DISPUTED';
type Fate =
  | { kind: 'scheduled' }
  | { kind: 'live'; bids: number; demoBid?: 'leading' | 'outbid' }
  | { kind: 'unsold' }
  | { kind: 'sold'; state: OrderState; buyer?: 'demo' };

/** A deterministic pseudo-random stream, so every seeded database looks the same. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 2 ** 32;
}

/** Credits demo points as one card top-up would (a TOPUP transaction: external -> available). */
async function credit(db: Db, userId: number, amount: number) {
  await inTransaction(db, async (tx) => {
    const c = await claim(tx, {
      kind: 'TOPUP',
      reference: `seed:topup:${userId}`,
      userId,
      amount,
      metadata: { seed: true },
    });
    if ('existing' in c) return;
    const topups = acct.topups();
    const avail = acct.available(userId);
    const locked = await lockAccounts(tx, [topups, avail]);
    await post(tx, c.id, locked, [
      [topups, -amount],
      [avail, amount],
    ]);
  });
}

const ADDRESS = {
  recipient: '김다판',
  phone: '010-2345-6789',
  postalCode: '04524',
  roadAddress: '서울 중구 세종대로 110',
  detailAddress: '다판다빌딩 3층',
};

async function main() {
  const started = Date.now();
  const config = loadConfig();
  const db = createDb(config.databaseUrl, 4);
  const storage = new LocalDiskStorage(config.storageDir);
  const wallet = walletApi(db);
  try {
    const demo = await createUserDirect(db, { ...DEMO, password: PASSWORD });
    const sellers: (typeof demo)[] = [];
    for (const s of SELLERS) sellers.push(await createUserDirect(db, { ...s, password: PASSWORD }));
    const buyers: (typeof demo)[] = [];
    for (const b of BUYERS) buyers.push(await createUserDirect(db, { ...b, password: PASSWORD }));
    const existing = await db.listing.count({ where: { sellerId: { in: [...sellers, demo].map((s) => s.id) } } });
    if (existing > 0) {
      console.log(`seed: demo data already present (${existing} listings); nothing to do`);
      return;
    }
    const now = Date.now();
    // Members joined long before anything they list or buy.
    const joined = [
      [demo, DEMO],
      ...sellers.map((s, i) => [s, SELLERS[i]] as const),
      ...buyers.map((b, i) => [b, BUYERS[i]] as const),
    ] as const;
    for (const [u, spec] of joined)
      await db.user.update({
        where: { id: u.id },
        data: {
          createdAt: new Date(now - spec.joinedDaysAgo * DAY),
          termsVersion: '2026-12-01',
          termsAgreedAt: new Date(now - spec.joinedDaysAgo * DAY),
          privacyAgreedAt: new Date(now - spec.joinedDaysAgo * DAY),
        },
      });
    await credit(db, demo.id, 10_000_000);
    for (const b of buyers) await credit(db, b.id, 50_000_000);

    const cats = await db.category.findMany({ where: { parentId: { not: null } } });
    const bySlug = new Map(cats.map((c) => [c.slug, c]));
    const rand = rng(20261202);
    const photo = photoMaker();

    // Who sells what, and how each auction turns out. Items go round the sellers; the demo user
    // sells four; some fates are fixed so every order state and every my-page tab has something.
    const fixed: Fate[] = [
      { kind: 'sold', state: 'AWAITING_ADDRESS', buyer: 'demo' },
      { kind: 'sold', state: 'SHIPPED', buyer: 'demo' },
      { kind: 'sold', state: 'COMPLETED', buyer: 'demo' },
      { kind: 'sold', state: 'DISPUTED', buyer: 'demo' },
      { kind: 'sold', state: 'AWAITING_ADDRESS' },
      { kind: 'sold', state: 'AWAITING_SHIPMENT' },
      { kind: 'sold', state: 'SHIPPED' },
      { kind: 'sold', state: 'RECEIVED' },
      { kind: 'sold', state: 'COMPLETED' },
      { kind: 'sold', state: 'COMPLETED' },
      { kind: 'sold', state: 'COMPLETED' },
      { kind: 'sold', state: 'CANCELLED' },
      { kind: 'sold', state: 'CANCELLED' },
      { kind: 'sold', state: 'DISPUTED' },
      { kind: 'live', bids: 4, demoBid: 'leading' },
      { kind: 'live', bids: 2, demoBid: 'leading' },
      { kind: 'live', bids: 5, demoBid: 'outbid' },
    ];
    const demoSells: Fate[] = [
      { kind: 'live', bids: 3 },
      { kind: 'live', bids: 0 },
      { kind: 'sold', state: 'COMPLETED' },
      { kind: 'sold', state: 'AWAITING_SHIPMENT' },
    ];
    const plan = ITEMS.map((item, i) => {
      let fate: Fate;
      let seller = sellers[i % sellers.length];
      const demoSale = i % 27 === 5 ? demoSells[Math.floor(i / 27)] : undefined;
      if (demoSale) {
        seller = demo;
        fate = demoSale;
      } else if (i % 6 === 1 && fixed.length) fate = fixed.shift()!;
      else {
        const r = rand();
        fate =
          r < 0.08
            ? { kind: 'scheduled' }
            : r < 0.14
              ? { kind: 'unsold' }
              : { kind: 'live', bids: rand() < 0.3 ? 0 : 1 + Math.floor(rand() ** 2 * 12) };
      }
      return { item, seller, fate };
    });
    // Anything the round did not place goes on the last items.
    for (const f of fixed) plan[plan.length - 1 - fixed.indexOf(f)].fate = f;

    let listings = 0;
    let bidRows = 0;
    const orderStates = new Map<string, number>();
    const watched: number[] = [];
    for (const [n, { item, seller, fate }] of plan.entries()) {
      const cat = bySlug.get(item.slug);
      if (!cat) throw new Error(`seed: no category ${item.slug}`);
      const durationDays = [3, 5, 7, 7, 10][n % 5];
      const startPrice = Math.max(1000, Math.round((item.price * (0.45 + rand() * 0.3)) / 1000) * 1000);
      let startsAt: Date;
      if (fate.kind === 'scheduled') startsAt = new Date(now + (2 + rand() * 70) * HOUR);
      else if (fate.kind === 'live') startsAt = new Date(now - rand() * (durationDays - 0.3) * DAY - HOUR);
      else {
        // Ended 1 to 20 days ago; an order still waiting for its address ended yesterday.
        const endedDaysAgo = fate.kind === 'sold' && fate.state === 'AWAITING_ADDRESS' ? 1 : 2 + rand() * 18;
        startsAt = new Date(now - (endedDaysAgo + durationDays) * DAY);
      }
      const endsAt = new Date(startsAt.getTime() + durationDays * DAY);

      // Bidders: buyers (and the demo user), never the seller.
      const pool = [...buyers, demo].filter((u) => u.id !== seller.id);
      const nBids = fate.kind === 'live' ? fate.bids : fate.kind === 'sold' ? 3 + Math.floor(rand() * 8) : 0;
      const bidders: number[] = [];
      for (let k = 0; k < nBids; k++) {
        let b = pool[Math.floor(rand() * pool.length)].id;
        if (k > 0 && b === bidders[k - 1]) b = pool[(pool.findIndex((u) => u.id === b) + 1) % pool.length].id;
        bidders.push(b);
      }
      const demoFirstOther = pool.find((u) => u.id !== demo.id)!.id;
      if (fate.kind === 'live' && fate.demoBid === 'leading') {
        bidders[bidders.length - 1] = demo.id;
        if (bidders.length > 1 && bidders[bidders.length - 2] === demo.id) bidders[bidders.length - 2] = demoFirstOther;
      }
      if (fate.kind === 'live' && fate.demoBid === 'outbid') {
        bidders[bidders.length - 2] = demo.id;
        if (bidders[bidders.length - 1] === demo.id) bidders[bidders.length - 1] = demoFirstOther;
        if (bidders.length > 2 && bidders[bidders.length - 3] === demo.id) bidders[bidders.length - 3] = demoFirstOther;
      }
      if (fate.kind === 'sold') {
        const winner =
          fate.buyer === 'demo' ? demo.id : pool.filter((u) => u.id !== demo.id)[(n % 4) % (pool.length - 1)].id;
        bidders[bidders.length - 1] = winner;
        if (bidders.length > 1 && bidders[bidders.length - 2] === winner)
          bidders[bidders.length - 2] = pool.find((u) => u.id !== winner)!.id;
      }
      const amounts: number[] = [];
      let price = startPrice;
      for (let k = 0; k < bidders.length; k++) {
        if (k > 0) price += increment(price);
        amounts.push(price);
      }
      const currentPrice = amounts.length ? amounts[amounts.length - 1] : startPrice;
      const span = Math.min(now, endsAt.getTime()) - startsAt.getTime();
      const bidTimes = amounts.map((_, k) => new Date(startsAt.getTime() + (span * (k + 1)) / (amounts.length + 1)));

      const desc = [
        item.note,
        ...[...PHRASES[item.condition]].sort(() => rand() - 0.5).slice(0, 2),
        item.condition === 'FOR_PARTS' ? '' : '택배비는 낙찰자 부담이에요. 직거래는 합정역에서 가능해요.',
      ]
        .filter(Boolean)
        .join('\n');
      const photos = await Promise.all(Array.from({ length: 1 + (n % 3) }, (_, k) => photo(item.shape, item.color, k)));
      const keys: Awaited<ReturnType<typeof writeFiles>>[] = [];
      for (const p of photos) keys.push(await writeFiles(storage, p));
      const ended = fate.kind === 'sold' || fate.kind === 'unsold';
      const status =
        fate.kind === 'sold'
          ? 'ENDED_SOLD'
          : fate.kind === 'unsold'
            ? 'ENDED_UNSOLD'
            : fate.kind === 'scheduled'
              ? 'SCHEDULED'
              : 'LIVE';

      const listing = await db.$transaction(async (tx) => {
        const l = await tx.listing.create({
          data: {
            sellerId: seller.id,
            title: item.title,
            description: desc,
            categoryId: cat.id,
            condition: item.condition,
            startPrice,
            buyNowPrice: fate.kind === 'live' && n % 4 === 0 ? Math.round((item.price * 1.1) / 1000) * 1000 : null,
            reservePrice: null,
            startsAt,
            endsAt,
            durationDays,
            status,
            currentPrice,
            bidCount: amounts.length,
            createdAt: new Date(startsAt.getTime() - (1 + rand() * 5) * HOUR),
          },
        });
        let cover = 0;
        for (const [k, p] of photos.entries()) {
          const ph = await tx.photo.create({
            data: {
              ownerId: seller.id,
              listingId: l.id,
              position: k,
              ...keys[k],
              width: p.width,
              height: p.height,
              bytes: p.bytes,
            },
          });
          if (k === 0) cover = ph.id;
        }
        await tx.listing.update({ where: { id: l.id }, data: { coverPhotoId: cover } });
        const leader = bidders.length ? bidders[bidders.length - 1] : null;
        const sold = fate.kind === 'sold';
        await tx.auction.create({
          data: {
            id: l.id,
            sellerId: seller.id,
            status: ended ? 'ENDED' : fate.kind === 'scheduled' ? 'SCHEDULED' : 'LIVE',
            outcome: sold ? 'SOLD' : fate.kind === 'unsold' ? 'UNSOLD' : null,
            startPrice,
            currentPrice,
            bidCount: amounts.length,
            leaderId: leader,
            leaderMax: leader ? currentPrice : null,
            runnerUpMax: amounts.length > 1 ? amounts[amounts.length - 2] : null,
            leaderHoldRef: sold
              ? wonHoldRef(l.id)
              : leader
                ? holdRef(l.id, leader, amounts.length, currentPrice)
                : null,
            startsAt,
            endsAt,
            originalEndsAt: endsAt,
            closedAt: ended ? endsAt : null,
            winnerId: sold ? leader : null,
            finalPrice: sold ? currentPrice : null,
            createdAt: startsAt,
          },
        });
        if (amounts.length)
          await tx.bid.createMany({
            data: amounts.map((amount, k) => ({
              auctionId: l.id,
              bidderId: bidders[k],
              amount,
              maxAmount: amount,
              kind: 'MANUAL' as const,
              createdAt: bidTimes[k],
            })),
          });
        return l;
      });
      listings++;
      bidRows += amounts.length;
      const leader = bidders.length ? bidders[bidders.length - 1] : null;
      if (fate.kind === 'live' && leader)
        await wallet.hold(leader, currentPrice, holdRef(listing.id, leader, amounts.length, currentPrice));
      if (fate.kind === 'live' && watched.length < 4 && seller.id !== demo.id) watched.push(listing.id);

      if (fate.kind === 'sold' && leader) {
        const ref = wonHoldRef(listing.id);
        await wallet.hold(leader, currentPrice, ref);
        const end = endsAt.getTime();
        const s = fate.state;
        const past = (d: number) => new Date(Math.min(now - HOUR, end + d * DAY));
        const addressed = s !== 'AWAITING_ADDRESS' && s !== 'CANCELLED';
        const shipped = ['SHIPPED', 'RECEIVED', 'COMPLETED', 'DISPUTED'].includes(s);
        const received = s === 'RECEIVED' || s === 'COMPLETED';
        const fee = feeOf(currentPrice, config.orders.feeBps);
        const order = await db.order.create({
          data: {
            sourceKey: `auction:${listing.id}`,
            auctionId: listing.id,
            listingId: listing.id,
            buyerId: leader,
            sellerId: seller.id,
            price: currentPrice,
            feeBps: config.orders.feeBps,
            holdRef: ref,
            state: s,
            disputedFrom: s === 'DISPUTED' ? 'SHIPPED' : null,
            ...(addressed ? { delivery: 'COURIER' as const, ...ADDRESS, addressAt: past(0.5) } : {}),
            ...(shipped
              ? { courier: 'CJ', trackingNumber: String(560_000_000_000 + listing.id * 7919), shippedAt: past(1.5) }
              : {}),
            ...(received ? { receivedAt: past(3) } : {}),
            ...(s === 'COMPLETED' ? { completedAt: past(3), fee, payout: currentPrice - fee } : {}),
            ...(s === 'CANCELLED' ? { cancelledAt: past(3), cancelReason: 'NO_ADDRESS' } : {}),
            dueAt:
              s === 'AWAITING_ADDRESS'
                ? new Date(now + 2 * DAY)
                : s === 'AWAITING_SHIPMENT'
                  ? new Date(now + 3 * DAY)
                  : s === 'SHIPPED'
                    ? new Date(now + 6 * DAY)
                    : null,
            createdAt: endsAt,
          },
        });
        await wallet.moveHoldToEscrow(ref, order.id, currentPrice);
        if (s === 'COMPLETED') await wallet.releaseEscrowToSeller(order.id, seller.id, fee);
        if (s === 'CANCELLED') await wallet.refundEscrow(order.id);
        if (s === 'DISPUTED')
          await db.orderDispute.create({
            data: {
              orderId: order.id,
              reason: 'NOT_AS_DESCRIBED',
              body: '설명에는 생활 기스 조금이라고 되어 있었는데 모서리에 큰 찍힘이 있어요. 사진을 첨부해요.',
              answer: '포장 전에 찍은 사진에는 찍힘이 없었어요. 배송 중에 생긴 것 같아요.',
              answeredAt: past(4),
            },
          });
        if (s === 'COMPLETED') {
          const stars = 4 + (listing.id % 2);
          await db.orderReview.createMany({
            data: [
              {
                orderId: order.id,
                authorId: leader,
                subjectId: seller.id,
                role: 'buyer',
                stars,
                tags: stars === 5 ? ['AS_DESCRIBED', 'FAST_SHIPPING', 'CAREFUL_PACKING'] : ['AS_DESCRIBED'],
                body: stars === 5 ? '설명 그대로예요. 포장도 꼼꼼했어요!' : '상품은 좋은데 배송이 조금 늦었어요.',
                createdAt: past(3.5),
              },
              {
                orderId: order.id,
                authorId: seller.id,
                subjectId: leader,
                role: 'seller',
                stars: 5,
                tags: ['FAST_REPLY', 'KIND'],
                body: '빠르게 확인해 주셔서 감사해요.',
                createdAt: past(3.6),
              },
            ],
          });
        }
        orderStates.set(s, (orderStates.get(s) ?? 0) + 1);
      }
    }
    await db.watch.createMany({
      data: watched.map((auctionId) => ({ userId: demo.id, auctionId })),
      skipDuplicates: true,
    });
    await db.orderAddress.create({ data: { userId: demo.id, ...ADDRESS, isDefault: true } });

    const accounts = 1 + SELLERS.length + BUYERS.length;
    const states = [...orderStates].map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(
      `seed: ${accounts} accounts, ${listings} listings, ${bidRows} bids, orders ${states} in ${((Date.now() - started) / 1000).toFixed(1)} s (password ${PASSWORD})`,
    );
  } finally {
    await db.$disconnect();
  }
}

await main();
