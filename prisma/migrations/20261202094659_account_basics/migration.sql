-- AlterTable
ALTER TABLE "signup_requests" ADD COLUMN     "consent_at" TIMESTAMPTZ(3),
ADD COLUMN     "marketing" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "terms_version" VARCHAR(20);

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "marketing_agreed_at" TIMESTAMPTZ(3),
ADD COLUMN     "photo_key" VARCHAR(80),
ADD COLUMN     "privacy_agreed_at" TIMESTAMPTZ(3),
ADD COLUMN     "terms_agreed_at" TIMESTAMPTZ(3),
ADD COLUMN     "terms_version" VARCHAR(20);
