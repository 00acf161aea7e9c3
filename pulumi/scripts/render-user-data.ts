/**
 * Writes the rendered user data of one role to a file, e.g. for a local rehearsal:
 *   npx tsx pulumi/scripts/render-user-data.ts --role worker --values values.json --out boot.sh
 * `--values` is a JSON file of UserDataOptions without `role` (see src/userdata.ts); `--sample`
 * uses SAMPLE_VALUES instead. A deployed stack's real values are its outputs (`pulumi stack output`).
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderUserData, type UserDataOptions } from '../src/userdata';

export const SAMPLE_VALUES: Omit<UserDataOptions, 'role'> = {
  stack: 'dev',
  region: 'ap-northeast-2',
  domain: 'dev.dapanda.example',
  vpcCidr: '10.20.0.0/16',
  releasesBucket: 'dapanda-dev-releases-example',
  releaseId: 'dapanda-0.1.0-000000000000',
  nodeTarball: 'node-v20.19.5-linux-x64.tar.xz',
  dbHost: 'dapanda-dev.example.ap-northeast-2.rds.amazonaws.com',
  dbName: 'dapanda',
  dbMasterUser: 'dapanda_admin',
  redisHost: 'master.dapanda-dev.example.apn2.cache.amazonaws.com',
  photosBucket: 'dapanda-dev-photos-example',
  photoBaseUrl: 'https://d111111abcdef8.cloudfront.net',
  agentConfigParameter: '/dapanda/dev/cloudwatch-agent',
  asgName: 'dapanda-dev-worker',
  secrets: {
    session: 'arn:aws:secretsmanager:ap-northeast-2:111122223333:secret:dapanda-dev/session-secret',
    dbApp: 'arn:aws:secretsmanager:ap-northeast-2:111122223333:secret:dapanda-dev/db-app-password',
    redis: 'arn:aws:secretsmanager:ap-northeast-2:111122223333:secret:dapanda-dev/redis-auth-token',
    dbMigrator: 'arn:aws:secretsmanager:ap-northeast-2:111122223333:secret:dapanda-dev/db-migrator-password',
    dbMaster: 'arn:aws:secretsmanager:ap-northeast-2:111122223333:secret:rds!db-example',
  },
};

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      values: { type: 'string' },
      sample: { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  if ((values.role !== 'web' && values.role !== 'worker') || !values.out || (!values.values && !values.sample)) {
    console.error('usage: render-user-data.ts --role web|worker (--values FILE | --sample) --out FILE');
    process.exit(2);
  }
  const base = values.sample
    ? SAMPLE_VALUES
    : (JSON.parse(readFileSync(values.values!, 'utf8')) as Omit<UserDataOptions, 'role'>);
  writeFileSync(values.out, renderUserData({ ...base, role: values.role }), { mode: 0o700 });
  console.log(`wrote ${values.out}`);
}
