-- CreateTable
CREATE TABLE "listing_questions" (
    "id" SERIAL NOT NULL,
    "listing_id" INTEGER NOT NULL,
    "asker_id" INTEGER NOT NULL,
    "seller_id" INTEGER NOT NULL,
    "body" VARCHAR(500) NOT NULL,
    "answer" VARCHAR(500),
    "answered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "listing_questions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "listing_questions_listing_id_id_idx" ON "listing_questions"("listing_id", "id");

-- CreateIndex
CREATE INDEX "listing_questions_asker_id_idx" ON "listing_questions"("asker_id");
