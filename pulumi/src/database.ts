/**
 * Database: RDS PostgreSQL 15 (the app's major version) in the data subnets, never public.
 * Multi-AZ, deletion protection, 14 days of backups with point-in-time recovery and a final
 * snapshot in prod; KMS-encrypted storage that grows by itself; TLS forced (`rds.force_ssl`); the
 * master password created and rotated by RDS in Secrets Manager. The app never uses the master
 * user: the release's migration step (the worker's boot, see userdata.ts) creates the same two
 * roles as on-prem (deploy/provision/sql/roles.sql): dapanda_migrator owns the schema and runs
 * migrations, dapanda_app may only read and write rows.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { StackConfig } from './config';
import type { Tagger } from './tags';

export const PG_MAJOR = '15';
export const DB_NAME = 'dapanda';
export const MASTER_USER = 'dapanda_admin';

export interface DatabaseArgs {
  config: StackConfig;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  kmsKeyArn: pulumi.Input<string>;
  tag: Tagger;
}

export class Database extends pulumi.ComponentResource {
  readonly instance: aws.rds.Instance;
  readonly identifier: string;
  readonly masterSecretArn: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:Database', name, {}, opts);
    const p = { parent: this };
    const { config: c, tag } = args;
    const d = c.database;
    this.identifier = `${c.project}-${c.stack}`;

    const subnets = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      { name: `${this.identifier}-data`, subnetIds: args.subnetIds, tags: tag('db-subnets') },
      p,
    );
    const params = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        name: `${this.identifier}-pg${PG_MAJOR}`,
        family: `postgres${PG_MAJOR}`,
        description: 'DAPANDA: TLS only, slow statements logged',
        parameters: [
          { name: 'rds.force_ssl', value: '1' },
          { name: 'log_min_duration_statement', value: '500' },
          { name: 'password_encryption', value: 'scram-sha-256' },
          // pg_trgm search and the monitoring views need nothing preloaded but pg_stat_statements.
          { name: 'shared_preload_libraries', value: 'pg_stat_statements', applyMethod: 'pending-reboot' },
        ],
        tags: tag('db-params'),
      },
      p,
    );
    // RDS writes its PostgreSQL log here; created first so it gets a retention (RDS's own has none).
    new aws.cloudwatch.LogGroup(
      `${name}-log`,
      {
        name: `/aws/rds/instance/${this.identifier}/postgresql`,
        retentionInDays: c.logRetentionDays,
        tags: tag('db-log'),
      },
      p,
    );

    this.instance = new aws.rds.Instance(
      `${name}-postgres`,
      {
        identifier: this.identifier,
        engine: 'postgres',
        engineVersion: PG_MAJOR,
        autoMinorVersionUpgrade: true,
        instanceClass: d.instanceClass,
        dbName: DB_NAME,
        username: MASTER_USER,
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: args.kmsKeyArn,
        storageType: 'gp3',
        allocatedStorage: d.allocatedGb,
        maxAllocatedStorage: d.maxAllocatedGb,
        storageEncrypted: true,
        kmsKeyId: args.kmsKeyArn,
        multiAz: d.multiAz,
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        publiclyAccessible: false,
        parameterGroupName: params.name,
        backupRetentionPeriod: d.backupDays,
        backupWindow: '18:00-18:30', // 03:00 KST, the quietest half hour
        maintenanceWindow: 'sun:19:00-sun:19:30',
        copyTagsToSnapshot: true,
        deletionProtection: d.deletionProtection,
        skipFinalSnapshot: !c.prod,
        finalSnapshotIdentifier: c.prod ? `${this.identifier}-final` : undefined,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: args.kmsKeyArn,
        performanceInsightsRetentionPeriod: d.performanceInsightsDays,
        enabledCloudwatchLogsExports: ['postgresql'],
        caCertIdentifier: 'rds-ca-rsa2048-g1',
        applyImmediately: !c.prod,
        tags: tag('postgres'),
      },
      p,
    );
    this.masterSecretArn = this.instance.masterUserSecrets.apply((s) => s?.[0]?.secretArn ?? '');
    this.registerOutputs({ endpoint: this.instance.address });
  }
}
