-- CreateTable
CREATE TABLE "chat_messages" (
    "id" SERIAL NOT NULL,
    "order_id" INTEGER NOT NULL,
    "sender_id" INTEGER NOT NULL,
    "kind" VARCHAR(16) NOT NULL DEFAULT 'TEXT',
    "body" VARCHAR(1000) NOT NULL,
    "flagged" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chat_messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chat_reads" (
    "order_id" INTEGER NOT NULL,
    "user_id" INTEGER NOT NULL,
    "last_read_id" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "chat_reads_pkey" PRIMARY KEY ("order_id","user_id")
);

-- CreateIndex
CREATE INDEX "chat_messages_order_id_id_idx" ON "chat_messages"("order_id", "id");
