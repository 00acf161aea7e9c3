-- CreateEnum
CREATE TYPE "AuctionStatus" AS ENUM ('SCHEDULED', 'LIVE', 'ENDED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "AuctionOutcome" AS ENUM ('SOLD', 'UNSOLD');

-- CreateEnum
CREATE TYPE "BidKind" AS ENUM ('MANUAL', 'PROXY', 'BUY_NOW');

-- CreateTable
CREATE TABLE "auctions" (
    "id" INTEGER NOT NULL,
    "seller_id" INTEGER NOT NULL,
    "status" "AuctionStatus" NOT NULL DEFAULT 'SCHEDULED',
    "outcome" "AuctionOutcome",
    "start_price" INTEGER NOT NULL,
    "reserve_price" INTEGER,
    "buy_now_price" INTEGER,
    "current_price" INTEGER NOT NULL,
    "bid_count" INTEGER NOT NULL DEFAULT 0,
    "leader_id" INTEGER,
    "leader_max" INTEGER,
    "runner_up_max" INTEGER,
    "leader_hold_ref" TEXT,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "original_ends_at" TIMESTAMPTZ(3) NOT NULL,
    "closed_at" TIMESTAMPTZ(3),
    "winner_id" INTEGER,
    "final_price" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "auctions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "bids" (
    "id" BIGSERIAL NOT NULL,
    "auction_id" INTEGER NOT NULL,
    "bidder_id" INTEGER NOT NULL,
    "amount" INTEGER NOT NULL,
    "max_amount" INTEGER,
    "kind" "BidKind" NOT NULL,
    "request_key" VARCHAR(80),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "bids_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "proxy_bids" (
    "auction_id" INTEGER NOT NULL,
    "bidder_id" INTEGER NOT NULL,
    "max_amount" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "proxy_bids_pkey" PRIMARY KEY ("auction_id","bidder_id")
);

-- CreateTable
CREATE TABLE "watches" (
    "user_id" INTEGER NOT NULL,
    "auction_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "watches_pkey" PRIMARY KEY ("user_id","auction_id")
);

-- CreateIndex
CREATE INDEX "auctions_status_ends_at_idx" ON "auctions"("status", "ends_at");

-- CreateIndex
CREATE INDEX "auctions_status_starts_at_idx" ON "auctions"("status", "starts_at");

-- CreateIndex
CREATE INDEX "auctions_winner_id_idx" ON "auctions"("winner_id");

-- CreateIndex
CREATE UNIQUE INDEX "bids_request_key_key" ON "bids"("request_key");

-- CreateIndex
CREATE INDEX "bids_auction_id_id_idx" ON "bids"("auction_id", "id");

-- CreateIndex
CREATE INDEX "bids_bidder_id_created_at_idx" ON "bids"("bidder_id", "created_at");

-- CreateIndex
CREATE INDEX "proxy_bids_bidder_id_updated_at_idx" ON "proxy_bids"("bidder_id", "updated_at");

-- CreateIndex
CREATE INDEX "watches_auction_id_idx" ON "watches"("auction_id");

-- AddForeignKey
ALTER TABLE "bids" ADD CONSTRAINT "bids_auction_id_fkey" FOREIGN KEY ("auction_id") REFERENCES "auctions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "proxy_bids" ADD CONSTRAINT "proxy_bids_auction_id_fkey" FOREIGN KEY ("auction_id") REFERENCES "auctions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "watches" ADD CONSTRAINT "watches_auction_id_fkey" FOREIGN KEY ("auction_id") REFERENCES "auctions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written (Prisma cannot express CHECK constraints): the database itself refuses an
-- impossible auction state, whatever the code does.
ALTER TABLE "auctions" ADD CONSTRAINT "auctions_amounts_check" CHECK (start_price > 0 AND current_price > 0 AND bid_count >= 0);
ALTER TABLE "auctions" ADD CONSTRAINT "auctions_leader_check" CHECK (leader_id IS NULL OR leader_max >= current_price);
ALTER TABLE "auctions" ADD CONSTRAINT "auctions_outcome_check" CHECK ((status = 'ENDED') = (outcome IS NOT NULL));
ALTER TABLE "bids" ADD CONSTRAINT "bids_amount_check" CHECK (amount > 0);
ALTER TABLE "proxy_bids" ADD CONSTRAINT "proxy_bids_max_check" CHECK (max_amount > 0);
