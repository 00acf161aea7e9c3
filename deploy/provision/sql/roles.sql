-- Roles and database of DAPANDA; idempotent. Run by deploy/provision/data.sh as postgres:
--   psql -v dbname=dapanda -v app_password=... -v migrator_password=... -f roles.sql
-- dapanda_migrator owns the database and schema (migrations); dapanda_app may only read and write rows.
\set ON_ERROR_STOP on
SELECT 'CREATE ROLE dapanda_migrator' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dapanda_migrator') \gexec
SELECT 'CREATE ROLE dapanda_app' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dapanda_app') \gexec
SELECT 'CREATE ROLE prometheus LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prometheus') \gexec
SET password_encryption = 'scram-sha-256';
ALTER ROLE dapanda_migrator WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'migrator_password';
ALTER ROLE dapanda_app WITH LOGIN NOCREATEDB NOCREATEROLE CONNECTION LIMIT 180 PASSWORD :'app_password';
-- Only a superuser may touch these two attributes; RDS's master is none (new roles never have them).
SELECT format('ALTER ROLE %I NOSUPERUSER NOREPLICATION', r) FROM unnest(ARRAY['dapanda_migrator', 'dapanda_app']) AS r
  WHERE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \gexec
GRANT pg_monitor TO prometheus;
SELECT format('CREATE DATABASE %I OWNER dapanda_migrator', :'dbname')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \gexec
ALTER DATABASE :"dbname" OWNER TO dapanda_migrator;
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO dapanda_app;
GRANT CONNECT ON DATABASE :"dbname" TO dapanda_migrator, prometheus;
\connect :"dbname"
ALTER SCHEMA public OWNER TO dapanda_migrator;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dapanda_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO dapanda_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO dapanda_app;
-- The migration history is the migrator's alone: the grant above gave it back on a database that
-- was already migrated (re-provisioning, a second `npm run up`); take it away again.
SELECT 'REVOKE ALL ON TABLE "_prisma_migrations" FROM dapanda_app'
  WHERE to_regclass('public."_prisma_migrations"') IS NOT NULL \gexec
ALTER DEFAULT PRIVILEGES FOR ROLE dapanda_migrator IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO dapanda_app;
ALTER DEFAULT PRIVILEGES FOR ROLE dapanda_migrator IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO dapanda_app;
