-- CreateEnum
CREATE TYPE "OrderState" AS ENUM ('AWAITING_ADDRESS', 'AWAITING_SHIPMENT', 'SHIPPED', 'RECEIVED', 'COMPLETED', 'CANCELLED', 'DISPUTED');

-- CreateEnum
CREATE TYPE "OrderDelivery" AS ENUM ('COURIER', 'MEETUP');

-- CreateEnum
CREATE TYPE "DisputeResolution" AS ENUM ('REFUND', 'RELEASE', 'SPLIT');

-- CreateTable
CREATE TABLE "orders" (
    "id" SERIAL NOT NULL,
    "source_key" TEXT NOT NULL,
    "auction_id" INTEGER NOT NULL,
    "listing_id" INTEGER NOT NULL,
    "buyer_id" INTEGER NOT NULL,
    "seller_id" INTEGER NOT NULL,
    "price" INTEGER NOT NULL,
    "fee_bps" INTEGER NOT NULL,
    "hold_ref" TEXT NOT NULL,
    "buy_now" BOOLEAN NOT NULL DEFAULT false,
    "state" "OrderState" NOT NULL DEFAULT 'AWAITING_ADDRESS',
    "disputed_from" "OrderState",
    "delivery" "OrderDelivery",
    "recipient" VARCHAR(40),
    "phone" VARCHAR(20),
    "postal_code" VARCHAR(5),
    "road_address" VARCHAR(200),
    "detail_address" VARCHAR(200),
    "meetup_place" VARCHAR(200),
    "meetup_at" TIMESTAMPTZ(3),
    "courier" VARCHAR(20),
    "tracking_number" VARCHAR(30),
    "due_at" TIMESTAMPTZ(3),
    "remind_at" TIMESTAMPTZ(3),
    "reminded_at" TIMESTAMPTZ(3),
    "address_at" TIMESTAMPTZ(3),
    "shipped_at" TIMESTAMPTZ(3),
    "received_at" TIMESTAMPTZ(3),
    "auto_confirmed" BOOLEAN NOT NULL DEFAULT false,
    "completed_at" TIMESTAMPTZ(3),
    "fee" INTEGER,
    "payout" INTEGER,
    "cancelled_at" TIMESTAMPTZ(3),
    "cancel_reason" VARCHAR(30),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "orders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_addresses" (
    "id" SERIAL NOT NULL,
    "user_id" INTEGER NOT NULL,
    "recipient" VARCHAR(40) NOT NULL,
    "phone" VARCHAR(20) NOT NULL,
    "postal_code" VARCHAR(5) NOT NULL,
    "road_address" VARCHAR(200) NOT NULL,
    "detail_address" VARCHAR(200) NOT NULL,
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_addresses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_strikes" (
    "id" SERIAL NOT NULL,
    "user_id" INTEGER NOT NULL,
    "order_id" INTEGER NOT NULL,
    "reason" VARCHAR(30) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_strikes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_disputes" (
    "id" SERIAL NOT NULL,
    "order_id" INTEGER NOT NULL,
    "reason" VARCHAR(30) NOT NULL,
    "body" VARCHAR(2000) NOT NULL,
    "answer" VARCHAR(2000),
    "answered_at" TIMESTAMPTZ(3),
    "resolution" "DisputeResolution",
    "buyer_amount" INTEGER,
    "seller_amount" INTEGER,
    "resolved_by" INTEGER,
    "resolved_at" TIMESTAMPTZ(3),
    "note" VARCHAR(2000),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_disputes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_reviews" (
    "id" SERIAL NOT NULL,
    "order_id" INTEGER NOT NULL,
    "author_id" INTEGER NOT NULL,
    "subject_id" INTEGER NOT NULL,
    "role" VARCHAR(6) NOT NULL,
    "stars" SMALLINT NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "body" VARCHAR(500) NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_reviews_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "orders_source_key_key" ON "orders"("source_key");

-- CreateIndex
CREATE INDEX "orders_buyer_id_state_idx" ON "orders"("buyer_id", "state");

-- CreateIndex
CREATE INDEX "orders_seller_id_state_idx" ON "orders"("seller_id", "state");

-- CreateIndex
CREATE INDEX "orders_state_due_at_idx" ON "orders"("state", "due_at");

-- CreateIndex
CREATE INDEX "order_addresses_user_id_idx" ON "order_addresses"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "order_strikes_order_id_key" ON "order_strikes"("order_id");

-- CreateIndex
CREATE INDEX "order_strikes_user_id_idx" ON "order_strikes"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "order_disputes_order_id_key" ON "order_disputes"("order_id");

-- CreateIndex
CREATE INDEX "order_reviews_subject_id_created_at_idx" ON "order_reviews"("subject_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "order_reviews_order_id_author_id_key" ON "order_reviews"("order_id", "author_id");

-- AddForeignKey
ALTER TABLE "order_disputes" ADD CONSTRAINT "order_disputes_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The database re-checks what the service validates.
ALTER TABLE "order_reviews" ADD CONSTRAINT "order_reviews_stars_range" CHECK ("stars" BETWEEN 1 AND 5);
ALTER TABLE "orders" ADD CONSTRAINT "orders_price_positive" CHECK ("price" > 0);
