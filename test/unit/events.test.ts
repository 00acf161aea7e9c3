/**
 * Domain events are typed end to end. The `@ts-expect-error` lines are checked by the typecheck
 * of `npm test` (tsc fails when such a line compiles cleanly): a wrong payload, a durable event
 * emitted live, a live event enqueued, an unknown name. At run time: the one constructor of
 * `auction.closed` makes the same payload for a close and a buy-now.
 */
import t from 'tap';
import type { Events, DomainEvent } from '../../src/core/events.js';
import type { Tx } from '../../src/core/db/index.js';
import { auctionClosed, type AuctionClosed } from '../../src/modules/bidding/index.js';
import { listingCreated } from '../../src/modules/catalog/index.js';

// Never called: it only has to compile (or fail to, where expected).
export function typing(events: Events, tx: Tx) {
  const closed = auctionClosed(
    {
      id: 1,
      sellerId: 2,
      outcome: 'UNSOLD',
      winnerId: null,
      finalPrice: null,
      leaderHoldRef: null,
      endsAt: new Date(),
      closedAt: new Date(),
    },
    { buyNow: false },
  );
  void events.enqueue(tx, closed);
  void events.emit(
    listingCreated({ id: 1, sellerId: 2, status: 'LIVE', startsAt: new Date(), endsAt: new Date(), startPrice: 1000 }),
  );
  void events.emit('auction.started', { auctionId: 1 });
  events.on('auction.closed', (p) => {
    const price: number | null = p.finalPrice;
    // @ts-expect-error the payload is typed: finalPrice is not a string
    const wrong: string = p.finalPrice;
    void [price, wrong];
  });
  // @ts-expect-error a payload missing its fields
  void events.emit('bid.placed', { auctionId: 1 });
  // @ts-expect-error a durable event is never emitted live: it is enqueued in the transaction of its change
  void events.emit('auction.closed', closed.payload);
  // @ts-expect-error a live event has no outbox row
  void events.enqueue(tx, { name: 'auction.started', payload: { auctionId: 1 } } as DomainEvent<'auction.started'>);
  // @ts-expect-error no such event
  events.on('auction.closd', () => {});
  // @ts-expect-error durable consumers exist for durable events only
  events.onDurable('bid.placed', 'x', async () => {});
}

t.test('auction.closed is built in one place, from the closed row', async (t) => {
  const endsAt = new Date('2026-12-01T10:00:00Z');
  const closedAt = new Date('2026-12-01T10:00:01.250Z');
  const sold = auctionClosed(
    {
      id: 5,
      sellerId: 9,
      outcome: 'SOLD',
      winnerId: 3,
      finalPrice: 26_000,
      leaderHoldRef: 'auction:5:won',
      endsAt,
      closedAt,
    },
    { buyNow: false },
  );
  t.equal(sold.name, 'auction.closed');
  t.same(sold.payload, {
    auctionId: 5,
    sellerId: 9,
    outcome: 'SOLD',
    winnerId: 3,
    finalPrice: 26_000,
    holdRef: 'auction:5:won',
    endsAt: endsAt.toISOString(),
    closedAt: closedAt.toISOString(),
    lagMs: 1250,
    buyNow: false,
  } satisfies AuctionClosed);
  const unsold = auctionClosed(
    {
      id: 6,
      sellerId: 9,
      outcome: 'UNSOLD',
      winnerId: 3,
      finalPrice: 26_000,
      leaderHoldRef: 'auction:6:bid:3:1:30000',
      endsAt,
      closedAt: endsAt,
    },
    { buyNow: true },
  );
  t.same(
    [unsold.payload.winnerId, unsold.payload.finalPrice, unsold.payload.holdRef, unsold.payload.lagMs],
    [null, null, null, 0],
    'an unsold close names no winner, price or hold',
  );
  t.throws(
    () =>
      auctionClosed(
        {
          id: 7,
          sellerId: 9,
          outcome: null,
          winnerId: null,
          finalPrice: null,
          leaderHoldRef: null,
          endsAt,
          closedAt: null,
        },
        { buyNow: false },
      ),
    /not closed/,
  );
  t.same(
    JSON.parse(JSON.stringify(sold.payload)),
    sold.payload,
    'plain JSON: it survives PostgreSQL and Redis unchanged',
  );
});
