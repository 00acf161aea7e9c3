-- CreateTable
CREATE TABLE "order_dispute_photos" (
    "id" SERIAL NOT NULL,
    "dispute_id" INTEGER NOT NULL,
    "position" SMALLINT NOT NULL,
    "thumb_key" VARCHAR(200) NOT NULL,
    "full_key" VARCHAR(200) NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "bytes" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_dispute_photos_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "order_dispute_photos_dispute_id_position_key" ON "order_dispute_photos"("dispute_id", "position");

-- AddForeignKey
ALTER TABLE "order_dispute_photos" ADD CONSTRAINT "order_dispute_photos_dispute_id_fkey" FOREIGN KEY ("dispute_id") REFERENCES "order_disputes"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written: at most 3 photos per dispute (positions 0..2, unique above), sizes positive, and keys
-- only under the private `disputes/` prefix (never served by /media/ nor the CDN).
ALTER TABLE "order_dispute_photos"
  ADD CONSTRAINT "order_dispute_photos_position_range" CHECK ("position" BETWEEN 0 AND 2),
  ADD CONSTRAINT "order_dispute_photos_size_positive" CHECK ("width" > 0 AND "height" > 0 AND "bytes" > 0),
  ADD CONSTRAINT "order_dispute_photos_private_keys" CHECK ("thumb_key" LIKE 'disputes/%' AND "full_key" LIKE 'disputes/%');
