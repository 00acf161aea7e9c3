-- Least privilege: the app role (DML on every table through default privileges) must not write
-- the migration history. Only where that role and the history exist (not on a shadow database).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dapanda_app') AND to_regclass('public."_prisma_migrations"') IS NOT NULL THEN
    REVOKE ALL ON TABLE "_prisma_migrations" FROM dapanda_app;
  END IF;
END $$;
