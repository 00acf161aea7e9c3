-- AlterTable
ALTER TABLE "chat_messages" ADD COLUMN     "hidden_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "listing_questions" ADD COLUMN     "hidden_at" TIMESTAMPTZ(3);
