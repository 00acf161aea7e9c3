-- CreateIndex
CREATE INDEX "listings_sise_idx" ON "listings"("category_id", "status", "ends_at", "id", "current_price", "title");
