-- AlterTable
ALTER TABLE "listings" ADD COLUMN     "relisted_from_id" INTEGER;

-- CreateIndex
CREATE UNIQUE INDEX "listings_relisted_from_id_key" ON "listings"("relisted_from_id");
