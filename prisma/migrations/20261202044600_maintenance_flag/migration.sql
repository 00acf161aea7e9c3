-- CreateTable
CREATE TABLE "app_flags" (
    "name" VARCHAR(40) NOT NULL,
    "value" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "app_flags_pkey" PRIMARY KEY ("name")
);
