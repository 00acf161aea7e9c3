-- CreateEnum
CREATE TYPE "WalletAccountKind" AS ENUM ('USER_AVAILABLE', 'USER_HELD', 'USER_PAYOUT_PENDING', 'ESCROW', 'PLATFORM_FEES', 'EXTERNAL_TOPUPS', 'EXTERNAL_PAYOUTS');

-- CreateEnum
CREATE TYPE "LedgerTxKind" AS ENUM ('TOPUP', 'HOLD', 'RELEASE', 'ESCROW', 'PAYOUT_TO_SELLER', 'REFUND', 'WITHDRAWAL', 'WITHDRAWAL_PAID', 'WITHDRAWAL_REVERSAL');

-- CreateEnum
CREATE TYPE "WalletHoldStatus" AS ENUM ('HELD', 'RELEASED', 'ESCROWED');

-- CreateEnum
CREATE TYPE "WalletEscrowStatus" AS ENUM ('HELD', 'RELEASED', 'REFUNDED');

-- CreateEnum
CREATE TYPE "TopupStatus" AS ENUM ('PENDING', 'SUCCEEDED', 'DECLINED', 'FAILED');

-- CreateEnum
CREATE TYPE "PayoutStatus" AS ENUM ('REQUESTED', 'PAID', 'REJECTED');

-- CreateTable
CREATE TABLE "wallet_accounts" (
    "id" SERIAL NOT NULL,
    "key" TEXT NOT NULL,
    "kind" "WalletAccountKind" NOT NULL,
    "user_id" INTEGER,
    "balance" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "wallet_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledger_transactions" (
    "id" SERIAL NOT NULL,
    "kind" "LedgerTxKind" NOT NULL,
    "reference" TEXT NOT NULL,
    "user_id" INTEGER,
    "amount" BIGINT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ledger_transactions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledger_entries" (
    "id" BIGSERIAL NOT NULL,
    "transaction_id" INTEGER NOT NULL,
    "account_id" INTEGER NOT NULL,
    "amount" BIGINT NOT NULL,
    "balance_after" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ledger_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "wallet_holds" (
    "id" SERIAL NOT NULL,
    "reference" TEXT NOT NULL,
    "user_id" INTEGER NOT NULL,
    "amount" INTEGER NOT NULL,
    "status" "WalletHoldStatus" NOT NULL DEFAULT 'HELD',
    "order_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "wallet_holds_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "wallet_escrows" (
    "id" SERIAL NOT NULL,
    "order_id" INTEGER NOT NULL,
    "buyer_id" INTEGER NOT NULL,
    "hold_reference" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "status" "WalletEscrowStatus" NOT NULL DEFAULT 'HELD',
    "seller_id" INTEGER,
    "fee" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "wallet_escrows_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "topup_attempts" (
    "id" SERIAL NOT NULL,
    "key" TEXT NOT NULL,
    "user_id" INTEGER NOT NULL,
    "amount" INTEGER NOT NULL,
    "status" "TopupStatus" NOT NULL DEFAULT 'PENDING',
    "card_last4" VARCHAR(4) NOT NULL,
    "payment_id" TEXT,
    "failure_code" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "topup_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "wallet_bank_accounts" (
    "id" SERIAL NOT NULL,
    "user_id" INTEGER NOT NULL,
    "bank_code" VARCHAR(3) NOT NULL,
    "account_number" VARCHAR(30) NOT NULL,
    "holder_name" VARCHAR(40) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "wallet_bank_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "wallet_payouts" (
    "id" SERIAL NOT NULL,
    "request_key" TEXT NOT NULL,
    "user_id" INTEGER NOT NULL,
    "amount" INTEGER NOT NULL,
    "fee" INTEGER NOT NULL,
    "bank_code" VARCHAR(3) NOT NULL,
    "account_number" VARCHAR(30) NOT NULL,
    "holder_name" VARCHAR(40) NOT NULL,
    "status" "PayoutStatus" NOT NULL DEFAULT 'REQUESTED',
    "processed_by" INTEGER,
    "processed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "wallet_payouts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "wallet_accounts_key_key" ON "wallet_accounts"("key");

-- CreateIndex
CREATE INDEX "wallet_accounts_user_id_kind_idx" ON "wallet_accounts"("user_id", "kind");

-- CreateIndex
CREATE INDEX "ledger_transactions_user_id_created_at_idx" ON "ledger_transactions"("user_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "ledger_transactions_kind_reference_key" ON "ledger_transactions"("kind", "reference");

-- CreateIndex
CREATE INDEX "ledger_entries_account_id_id_idx" ON "ledger_entries"("account_id", "id");

-- CreateIndex
CREATE INDEX "ledger_entries_transaction_id_idx" ON "ledger_entries"("transaction_id");

-- CreateIndex
CREATE UNIQUE INDEX "wallet_holds_reference_key" ON "wallet_holds"("reference");

-- CreateIndex
CREATE INDEX "wallet_holds_user_id_status_idx" ON "wallet_holds"("user_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "wallet_escrows_order_id_key" ON "wallet_escrows"("order_id");

-- CreateIndex
CREATE INDEX "wallet_escrows_buyer_id_status_idx" ON "wallet_escrows"("buyer_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "topup_attempts_key_key" ON "topup_attempts"("key");

-- CreateIndex
CREATE INDEX "topup_attempts_user_id_created_at_idx" ON "topup_attempts"("user_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "wallet_bank_accounts_user_id_key" ON "wallet_bank_accounts"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "wallet_payouts_request_key_key" ON "wallet_payouts"("request_key");

-- CreateIndex
CREATE INDEX "wallet_payouts_status_created_at_idx" ON "wallet_payouts"("status", "created_at");

-- CreateIndex
CREATE INDEX "wallet_payouts_user_id_created_at_idx" ON "wallet_payouts"("user_id", "created_at");

-- AddForeignKey
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_transaction_id_fkey" FOREIGN KEY ("transaction_id") REFERENCES "ledger_transactions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "wallet_accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- ── wallet: guarantees Prisma cannot express (written by hand) ──
-- The ledger's rules are enforced by the database itself, so no code path (nor a manual SQL
-- session) can break them: postings are append-only, every ledger transaction balances to zero
-- at commit, each account's cached balance moves with its postings in the same statement, and
-- user, escrow and platform accounts can never go below zero. Only the outside-world accounts
-- (external:topups, external:payouts) may be negative: they mirror money outside the system.
-- These are triggers, not CHECK or CONSTRAINT TRIGGER objects: the wasm schema engine's
-- introspection (db:drift) panics on any CHECK/trigger constraint read through the pg adapter.

-- The cached balance only ever moves through a posting (the trigger below, one level deep),
-- so it always equals the sum of the account's postings.
CREATE FUNCTION wallet_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (TG_OP = 'INSERT' AND NEW."balance" <> 0)
     OR (TG_OP = 'UPDATE' AND NEW."balance" <> OLD."balance" AND pg_trigger_depth() < 2) THEN
    RAISE EXCEPTION 'wallet account % balance moves only with ledger postings', NEW."key" USING ERRCODE = '42501';
  END IF;
  IF NEW."balance" < 0 AND NEW."kind" NOT IN ('EXTERNAL_TOPUPS', 'EXTERNAL_PAYOUTS') THEN
    RAISE EXCEPTION 'wallet account % would go negative (%)', NEW."key", NEW."balance"
      USING ERRCODE = '23514', CONSTRAINT = 'wallet_accounts_non_negative';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER "wallet_accounts_non_negative" BEFORE INSERT OR UPDATE ON "wallet_accounts"
  FOR EACH ROW EXECUTE FUNCTION wallet_account_guard();

-- Each posting moves its account's cached balance (under the row lock the UPDATE takes) and
-- records the balance right after it, which the history page shows as the running balance.
CREATE FUNCTION wallet_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."amount" = 0 THEN
    RAISE EXCEPTION 'ledger posting of zero' USING ERRCODE = '23514';
  END IF;
  UPDATE "wallet_accounts" SET "balance" = "balance" + NEW."amount", "updated_at" = now()
   WHERE "id" = NEW."account_id"
   RETURNING "balance" INTO NEW."balance_after";
  IF NOT FOUND THEN
    RAISE EXCEPTION 'ledger posting to unknown account %', NEW."account_id" USING ERRCODE = '23503';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER "ledger_entries_apply" BEFORE INSERT ON "ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION wallet_apply_posting();

-- Every INSERT of postings must balance per ledger transaction (the service writes all legs of
-- a transaction in one statement), so no transaction can ever sum to anything but zero.
-- A statement trigger over the inserted rows rather than a deferred CONSTRAINT TRIGGER: the
-- wasm schema engine (db:drift) panics when it introspects any non-FK constraint, and this
-- check is stricter anyway (it refuses an unbalanced statement immediately).
CREATE FUNCTION wallet_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
  SELECT "transaction_id", SUM("amount") AS total INTO bad FROM new_rows
   GROUP BY "transaction_id" HAVING SUM("amount") <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', bad."transaction_id", bad.total USING ERRCODE = '23514';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER "ledger_entries_balanced" AFTER INSERT ON "ledger_entries"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION wallet_check_balanced();

-- Append-only: a correction is a new reversing transaction, never an edit.
CREATE FUNCTION wallet_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER "ledger_entries_append_only" BEFORE UPDATE OR DELETE ON "ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION wallet_refuse_change();
CREATE TRIGGER "ledger_entries_no_truncate" BEFORE TRUNCATE ON "ledger_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION wallet_refuse_change();
CREATE TRIGGER "ledger_transactions_append_only" BEFORE UPDATE OR DELETE ON "ledger_transactions"
  FOR EACH ROW EXECUTE FUNCTION wallet_refuse_change();
CREATE TRIGGER "ledger_transactions_no_truncate" BEFORE TRUNCATE ON "ledger_transactions"
  FOR EACH STATEMENT EXECUTE FUNCTION wallet_refuse_change();
