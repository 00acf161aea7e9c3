/**
 * `npm run admin:create -- <email>`: gives an existing account the ADMIN role (the first admin of
 * a deployment; later ones are made on /admin/roles). It never creates an account and never sets a
 * password: the person signs up as everyone does, then an operator runs this. Reads DATABASE_URL
 * only (the app role suffices: it updates one row and appends one audit row).
 */
import { createDb } from '../core/db/index.js';
import { cliDatabaseUrl } from '../config.js';
import { promoteToAdmin, UnknownAccount } from '../modules/accounts/index.js';

async function main(): Promise<number> {
  const email = process.argv.slice(2).join(' ').trim();
  if (!email || !email.includes('@')) {
    console.error('usage: npm run admin:create -- <email of an existing account>');
    return 2;
  }
  const db = createDb(cliDatabaseUrl('admin:create'), 1);
  try {
    const r = await promoteToAdmin(db, email);
    console.log(
      r.before === 'ADMIN'
        ? `${email} (#${r.id}, ${r.nickname}) is already ADMIN`
        : `${email} (#${r.id}, ${r.nickname}) is now ADMIN (was ${r.before})`,
    );
    return 0;
  } catch (err) {
    if (err instanceof UnknownAccount) {
      console.error(`admin:create: no account with the e-mail ${email}. Sign up with it first, then run this again.`);
      return 1;
    }
    throw err;
  } finally {
    await db.$disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`admin:create: ${err.message}`);
    process.exit(1);
  },
);
