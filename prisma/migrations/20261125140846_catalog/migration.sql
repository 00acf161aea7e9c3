-- Hand-written (Prisma cannot express extensions without a preview feature): pg_trgm gives
-- the trigram operators and GIN operator class used by the title/description search indexes
-- below, for Korean and English substring and typo-tolerant search.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateEnum
CREATE TYPE "ListingCondition" AS ENUM ('NEW', 'LIKE_NEW', 'GOOD', 'FAIR', 'FOR_PARTS');

-- CreateEnum
CREATE TYPE "ListingStatus" AS ENUM ('SCHEDULED', 'LIVE', 'ENDED_SOLD', 'ENDED_UNSOLD', 'CANCELLED');

-- CreateTable
CREATE TABLE "categories" (
    "id" SERIAL NOT NULL,
    "slug" VARCHAR(40) NOT NULL,
    "parent_id" INTEGER,
    "name_ko" VARCHAR(40) NOT NULL,
    "name_en" VARCHAR(40) NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "categories_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "listings" (
    "id" SERIAL NOT NULL,
    "seller_id" INTEGER NOT NULL,
    "title" VARCHAR(60) NOT NULL,
    "description" VARCHAR(5000) NOT NULL,
    "category_id" INTEGER NOT NULL,
    "condition" "ListingCondition" NOT NULL,
    "start_price" INTEGER NOT NULL,
    "buy_now_price" INTEGER,
    "reserve_price" INTEGER,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "duration_days" INTEGER NOT NULL,
    "status" "ListingStatus" NOT NULL,
    "current_price" INTEGER NOT NULL,
    "bid_count" INTEGER NOT NULL DEFAULT 0,
    "cover_photo_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "listings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "photos" (
    "id" SERIAL NOT NULL,
    "listing_id" INTEGER,
    "owner_id" INTEGER NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,
    "thumb_key" VARCHAR(100) NOT NULL,
    "card_key" VARCHAR(100) NOT NULL,
    "full_key" VARCHAR(100) NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "bytes" INTEGER NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "photos_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "categories_slug_key" ON "categories"("slug");

-- CreateIndex
CREATE INDEX "categories_parent_id_position_idx" ON "categories"("parent_id", "position");

-- CreateIndex
CREATE INDEX "listings_status_ends_at_id_idx" ON "listings"("status", "ends_at", "id");

-- CreateIndex
CREATE INDEX "listings_status_created_at_id_idx" ON "listings"("status", "created_at", "id");

-- CreateIndex
CREATE INDEX "listings_status_bid_count_id_idx" ON "listings"("status", "bid_count", "id");

-- CreateIndex
CREATE INDEX "listings_status_current_price_id_idx" ON "listings"("status", "current_price", "id");

-- CreateIndex
CREATE INDEX "listings_category_id_status_ends_at_idx" ON "listings"("category_id", "status", "ends_at");

-- CreateIndex
CREATE INDEX "listings_seller_id_created_at_id_idx" ON "listings"("seller_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "listings_status_starts_at_idx" ON "listings"("status", "starts_at");

-- CreateIndex
CREATE INDEX "listings_title_trgm_idx" ON "listings" USING GIN ("title" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "listings_description_trgm_idx" ON "listings" USING GIN ("description" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "photos_listing_id_position_idx" ON "photos"("listing_id", "position");

-- CreateIndex
CREATE INDEX "photos_owner_id_listing_id_idx" ON "photos"("owner_id", "listing_id");

-- CreateIndex
CREATE INDEX "photos_expires_at_idx" ON "photos"("expires_at");

-- AddForeignKey
ALTER TABLE "categories" ADD CONSTRAINT "categories_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "categories"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "listings" ADD CONSTRAINT "listings_seller_id_fkey" FOREIGN KEY ("seller_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "listings" ADD CONSTRAINT "listings_category_id_fkey" FOREIGN KEY ("category_id") REFERENCES "categories"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "photos" ADD CONSTRAINT "photos_listing_id_fkey" FOREIGN KEY ("listing_id") REFERENCES "listings"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written: rules Prisma cannot express. The service checks the same rules with friendly
-- messages, and these CHECKs keep every other writer (scripts, other modules' bugs) honest.
ALTER TABLE "listings"
  ADD CONSTRAINT "listings_start_price_range" CHECK ("start_price" BETWEEN 1000 AND 100000000),
  ADD CONSTRAINT "listings_buy_now_above_start" CHECK ("buy_now_price" IS NULL OR "buy_now_price" > "start_price"),
  ADD CONSTRAINT "listings_reserve_range" CHECK ("reserve_price" IS NULL OR ("reserve_price" >= "start_price" AND ("buy_now_price" IS NULL OR "reserve_price" <= "buy_now_price"))),
  ADD CONSTRAINT "listings_duration_days" CHECK ("duration_days" IN (1, 3, 5, 7, 10, 14)),
  ADD CONSTRAINT "listings_ends_after_start" CHECK ("ends_at" > "starts_at"),
  ADD CONSTRAINT "listings_bid_count_nonneg" CHECK ("bid_count" >= 0);

-- Hand-written: the category tree is reference data every environment needs (tests included),
-- so it ships with the schema rather than with the demo seed.
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('digital', '디지털기기', 'Digital devices', 0, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('appliances', '생활가전', 'Home appliances', 1, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('furniture', '가구/인테리어', 'Furniture & interior', 2, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('clothing', '의류', 'Clothing', 3, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('books', '도서', 'Books', 4, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('sports', '스포츠/레저', 'Sports & leisure', 5, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('hobby', '취미/게임', 'Hobbies & games', 6, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('kids', '유아동', 'Kids & baby', 7, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('beauty', '뷰티', 'Beauty', 8, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "updated_at") VALUES ('etc', '기타', 'Other', 9, CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('phones', '휴대폰', 'Phones', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'digital'), CURRENT_TIMESTAMP),
  ('tablets', '태블릿', 'Tablets', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'digital'), CURRENT_TIMESTAMP),
  ('laptops', '노트북/PC', 'Laptops & PCs', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'digital'), CURRENT_TIMESTAMP),
  ('cameras', '카메라', 'Cameras', 3, (SELECT "id" FROM "categories" WHERE "slug" = 'digital'), CURRENT_TIMESTAMP),
  ('audio', '음향기기', 'Audio', 4, (SELECT "id" FROM "categories" WHERE "slug" = 'digital'), CURRENT_TIMESTAMP),
  ('wearables', '웨어러블', 'Wearables', 5, (SELECT "id" FROM "categories" WHERE "slug" = 'digital'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('kitchen-appliances', '주방가전', 'Kitchen appliances', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'appliances'), CURRENT_TIMESTAMP),
  ('cleaning-laundry', '청소기/세탁기', 'Cleaning & laundry', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'appliances'), CURRENT_TIMESTAMP),
  ('seasonal-appliances', '계절가전', 'Heating & cooling', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'appliances'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('furniture-items', '가구', 'Furniture', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'furniture'), CURRENT_TIMESTAMP),
  ('lighting', '조명', 'Lighting', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'furniture'), CURRENT_TIMESTAMP),
  ('decor', '인테리어 소품', 'Decor', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'furniture'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('womens-clothing', '여성의류', 'Women''s clothing', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'clothing'), CURRENT_TIMESTAMP),
  ('mens-clothing', '남성의류', 'Men''s clothing', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'clothing'), CURRENT_TIMESTAMP),
  ('shoes', '신발', 'Shoes', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'clothing'), CURRENT_TIMESTAMP),
  ('bags', '가방/잡화', 'Bags & accessories', 3, (SELECT "id" FROM "categories" WHERE "slug" = 'clothing'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('fiction', '소설/에세이', 'Fiction & essays', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'books'), CURRENT_TIMESTAMP),
  ('study', '학습/참고서', 'Study & reference', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'books'), CURRENT_TIMESTAMP),
  ('comics', '만화', 'Comics', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'books'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('bicycles', '자전거', 'Bicycles', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'sports'), CURRENT_TIMESTAMP),
  ('camping', '캠핑', 'Camping', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'sports'), CURRENT_TIMESTAMP),
  ('golf', '골프', 'Golf', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'sports'), CURRENT_TIMESTAMP),
  ('fitness', '헬스/요가', 'Fitness & yoga', 3, (SELECT "id" FROM "categories" WHERE "slug" = 'sports'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('consoles', '게임기/타이틀', 'Consoles & games', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'hobby'), CURRENT_TIMESTAMP),
  ('figures', '피규어/프라모델', 'Figures & models', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'hobby'), CURRENT_TIMESTAMP),
  ('instruments', '악기', 'Instruments', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'hobby'), CURRENT_TIMESTAMP),
  ('board-games', '보드게임', 'Board games', 3, (SELECT "id" FROM "categories" WHERE "slug" = 'hobby'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('baby-gear', '유아용품', 'Baby gear', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'kids'), CURRENT_TIMESTAMP),
  ('toys', '장난감', 'Toys', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'kids'), CURRENT_TIMESTAMP),
  ('kids-clothing', '아동의류', 'Kids'' clothing', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'kids'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('skincare', '스킨케어', 'Skincare', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'beauty'), CURRENT_TIMESTAMP),
  ('makeup', '메이크업', 'Makeup', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'beauty'), CURRENT_TIMESTAMP),
  ('perfume', '향수', 'Perfume', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'beauty'), CURRENT_TIMESTAMP);
INSERT INTO "categories" ("slug", "name_ko", "name_en", "position", "parent_id", "updated_at") VALUES
  ('tickets', '티켓/쿠폰', 'Tickets & vouchers', 0, (SELECT "id" FROM "categories" WHERE "slug" = 'etc'), CURRENT_TIMESTAMP),
  ('pets', '반려동물용품', 'Pet supplies', 1, (SELECT "id" FROM "categories" WHERE "slug" = 'etc'), CURRENT_TIMESTAMP),
  ('misc', '기타 물품', 'Everything else', 2, (SELECT "id" FROM "categories" WHERE "slug" = 'etc'), CURRENT_TIMESTAMP);
