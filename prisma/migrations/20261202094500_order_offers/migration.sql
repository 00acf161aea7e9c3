-- CreateEnum
CREATE TYPE "OrderOfferState" AS ENUM ('OPEN', 'ACCEPTED', 'DECLINED', 'EXPIRED');

-- CreateTable
CREATE TABLE "order_offers" (
    "id" SERIAL NOT NULL,
    "order_id" INTEGER NOT NULL,
    "auction_id" INTEGER NOT NULL,
    "listing_id" INTEGER NOT NULL,
    "seller_id" INTEGER NOT NULL,
    "bidder_id" INTEGER NOT NULL,
    "price" INTEGER NOT NULL,
    "state" "OrderOfferState" NOT NULL DEFAULT 'OPEN',
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "answered_at" TIMESTAMPTZ(3),
    "new_order_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_offers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "order_offers_order_id_key" ON "order_offers"("order_id");

-- CreateIndex
CREATE UNIQUE INDEX "order_offers_new_order_id_key" ON "order_offers"("new_order_id");

-- CreateIndex
CREATE INDEX "order_offers_bidder_id_state_idx" ON "order_offers"("bidder_id", "state");

-- CreateIndex
CREATE INDEX "order_offers_state_expires_at_idx" ON "order_offers"("state", "expires_at");
