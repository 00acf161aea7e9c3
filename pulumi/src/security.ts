/**
 * Security: KMS keys, the chain of security groups (internet -> ALB:80/443 -> web:3000 ->
 * RDS:5432 / Redis:6379, nothing else open; metrics ports are not in any group, so only the
 * CloudWatch agent on the instance itself reaches them), the app's secrets, the instance roles
 * (each role reads only its bucket prefixes and its own secrets), and the GuardDuty / CloudTrail
 * switches.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import * as random from '@pulumi/random';
import type { StackConfig } from './config';
import type { Tagger } from './tags';
import { policy, trust, SSM_CHANNEL_ACTIONS, AGENT_ACTIONS, type Statement } from './iam';

export const APP_PORT = 3000;

export interface SecurityArgs {
  config: StackConfig;
  vpcId: pulumi.Input<string>;
  endpointSecurityGroupId: pulumi.Input<string>;
  tag: Tagger;
}

export interface AppSecrets {
  session: aws.secretsmanager.Secret;
  dbApp: aws.secretsmanager.Secret;
  dbMigrator: aws.secretsmanager.Secret;
  redis: aws.secretsmanager.Secret;
}

export interface InstanceRoleArgs {
  releasesBucketArn: pulumi.Input<string>;
  photosBucketArn: pulumi.Input<string>;
  logGroupArns: pulumi.Input<string>[];
  agentConfigParameterArn: pulumi.Input<string>;
  /** The RDS-managed master secret: only the worker (which runs migrations) may read it. */
  dbMasterSecretArn: pulumi.Input<string>;
  /** The stack's permissions boundary (Delivery): no stack role can exceed it. */
  boundaryArn: pulumi.Input<string>;
  asgNames: Record<'web' | 'worker', string>;
}

export class Security extends pulumi.ComponentResource {
  readonly dataKey: aws.kms.Key;
  readonly opsKey: aws.kms.Key;
  readonly albSg: aws.ec2.SecurityGroup;
  readonly webSg: aws.ec2.SecurityGroup;
  readonly workerSg: aws.ec2.SecurityGroup;
  readonly dbSg: aws.ec2.SecurityGroup;
  readonly redisSg: aws.ec2.SecurityGroup;
  readonly secrets: AppSecrets;
  /** The Redis AUTH token (also in `secrets.redis`); ElastiCache needs the value itself. */
  readonly redisAuthToken: pulumi.Output<string>;
  private readonly args: SecurityArgs;
  private readonly prefix: string;

  constructor(name: string, args: SecurityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:Security', name, {}, opts);
    this.args = args;
    const p = { parent: this };
    const { config: c, tag } = args;
    this.prefix = `${c.project}-${c.stack}`;

    // Keys: one for data at rest (S3, RDS, ElastiCache, Secrets Manager), one for operations
    // (SNS alarms, CloudWatch Logs). Their key policies are set once every user exists (index.ts).
    this.dataKey = new aws.kms.Key(
      `${name}-data-key`,
      {
        description: `${this.prefix} data at rest`,
        enableKeyRotation: true,
        deletionWindowInDays: c.prod ? 30 : 7,
        tags: tag('data-key'),
      },
      p,
    );
    new aws.kms.Alias(
      `${name}-data-key-alias`,
      { name: `alias/${this.prefix}-data`, targetKeyId: this.dataKey.keyId },
      p,
    );
    const account = aws.getCallerIdentityOutput({}, p).accountId;
    this.opsKey = new aws.kms.Key(
      `${name}-ops-key`,
      {
        description: `${this.prefix} alarms and logs`,
        enableKeyRotation: true,
        deletionWindowInDays: c.prod ? 30 : 7,
        policy: policy([
          {
            Sid: 'AccountAdministers',
            Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
            Action: ['kms:*'],
            Resource: '*',
          },
          // CloudWatch alarms publish to the encrypted SNS topic.
          {
            Sid: 'CloudWatchAlarms',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: '*',
          },
          {
            Sid: 'LogGroups',
            Principal: { Service: `logs.${c.region}.amazonaws.com` },
            Action: [
              'kms:Encrypt',
              'kms:Decrypt',
              'kms:ReEncryptFrom',
              'kms:ReEncryptTo',
              'kms:GenerateDataKey',
              'kms:DescribeKey',
            ],
            Resource: '*',
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': pulumi.interpolate`arn:aws:logs:${c.region}:${account}:log-group:/dapanda/${c.stack}/*`,
              },
            },
          },
        ]),
        tags: tag('ops-key'),
      },
      p,
    );
    new aws.kms.Alias(`${name}-ops-key-alias`, { name: `alias/${this.prefix}-ops`, targetKeyId: this.opsKey.keyId }, p);

    const sg = (id: string, description: string) =>
      new aws.ec2.SecurityGroup(`${name}-${id}-sg`, { vpcId: args.vpcId, description, tags: tag(`${id}-sg`) }, p);
    this.albSg = sg('alb', 'ALB: HTTP and HTTPS from the internet, to the web instances only');
    this.webSg = sg('web', 'Web instances: the app port from the ALB only');
    this.workerSg = sg('worker', 'Worker instances: no inbound traffic');
    this.dbSg = sg('db', 'RDS PostgreSQL: from the app instances only');
    this.redisSg = sg('redis', 'ElastiCache Redis: from the app instances only');

    const ingress = (
      id: string,
      sgId: pulumi.Input<string>,
      port: number,
      from: { cidr?: string; sg?: pulumi.Input<string> },
      description: string,
    ) =>
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${id}`,
        {
          securityGroupId: sgId,
          ipProtocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidrIpv4: from.cidr,
          referencedSecurityGroupId: from.sg,
          description,
          tags: tag(id),
        },
        p,
      );
    const egress = (
      id: string,
      sgId: pulumi.Input<string>,
      port: number,
      to: { cidr?: string; sg?: pulumi.Input<string> },
      description: string,
    ) =>
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-${id}`,
        {
          securityGroupId: sgId,
          ipProtocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidrIpv4: to.cidr,
          referencedSecurityGroupId: to.sg,
          description,
          tags: tag(id),
        },
        p,
      );

    ingress('alb-in-http', this.albSg.id, 80, { cidr: '0.0.0.0/0' }, 'HTTP (redirected to HTTPS)');
    ingress('alb-in-https', this.albSg.id, 443, { cidr: '0.0.0.0/0' }, 'HTTPS');
    egress('alb-out-web', this.albSg.id, APP_PORT, { sg: this.webSg.id }, 'to the web instances');
    ingress('web-in-alb', this.webSg.id, APP_PORT, { sg: this.albSg.id }, 'app port from the ALB');
    for (const [role, g] of [
      ['web', this.webSg],
      ['worker', this.workerSg],
    ] as const) {
      // HTTPS out: AWS APIs through the endpoints, apt and the RDS CA bundle through NAT.
      egress(`${role}-out-https`, g.id, 443, { cidr: '0.0.0.0/0' }, 'HTTPS (endpoints, NAT)');
      egress(`${role}-out-db`, g.id, 5432, { sg: this.dbSg.id }, 'PostgreSQL');
      egress(`${role}-out-redis`, g.id, 6379, { sg: this.redisSg.id }, 'Redis');
      ingress(`db-in-${role}`, this.dbSg.id, 5432, { sg: g.id }, `PostgreSQL from ${role}`);
      ingress(`redis-in-${role}`, this.redisSg.id, 6379, { sg: g.id }, `Redis from ${role}`);
      ingress(`endpoints-in-${role}`, args.endpointSecurityGroupId, 443, { sg: g.id }, `VPC endpoints from ${role}`);
    }

    // Secrets: generated once, stored in Secrets Manager, read by the instances at boot.
    const secret = (id: string, length: number, description: string) => {
      const value = new random.RandomPassword(`${name}-${id}-value`, { length, special: false }, p);
      const s = new aws.secretsmanager.Secret(
        `${name}-${id}`,
        {
          name: `${this.prefix}/${id}`,
          description,
          kmsKeyId: this.dataKey.arn,
          recoveryWindowInDays: c.prod ? 30 : 7,
          tags: tag(id),
        },
        p,
      );
      new aws.secretsmanager.SecretVersion(`${name}-${id}-version`, { secretId: s.id, secretString: value.result }, p);
      return { secret: s, value: value.result };
    };
    const session = secret('session-secret', 64, 'SESSION_SECRET of the app');
    const dbApp = secret('db-app-password', 40, 'password of dapanda_app (DML only)');
    const dbMigrator = secret('db-migrator-password', 40, 'password of dapanda_migrator (owns the schema)');
    const redis = secret('redis-auth-token', 64, 'ElastiCache AUTH token');
    this.secrets = { session: session.secret, dbApp: dbApp.secret, dbMigrator: dbMigrator.secret, redis: redis.secret };
    this.redisAuthToken = pulumi.secret(redis.value);

    if (c.security.guardDuty) {
      new aws.guardduty.Detector(
        `${name}-guardduty`,
        { enable: true, findingPublishingFrequency: 'FIFTEEN_MINUTES', tags: tag('guardduty') },
        p,
      );
    }
    this.registerOutputs({});
  }

  /** The web and worker instance roles and profiles (created once buckets, logs and the DB exist). */
  instanceRoles(a: InstanceRoleArgs) {
    const c = this.args.config;
    const tag = this.args.tag;
    const p = { parent: this };
    const account = aws.getCallerIdentityOutput({}, p).accountId;
    const region = c.region;
    const common = (role: 'web' | 'worker'): Statement[] => [
      {
        Sid: 'ReadRelease',
        Action: ['s3:GetObject'],
        Resource: [
          pulumi.interpolate`${a.releasesBucketArn}/releases/*`,
          pulumi.interpolate`${a.releasesBucketArn}/tools/*`,
        ],
      },
      // The SSM and CloudWatch agents' Debian packages, from AWS's own regional buckets.
      {
        Sid: 'ReadAgentPackages',
        Action: ['s3:GetObject'],
        Resource: [`arn:aws:s3:::amazon-ssm-${region}/*`, `arn:aws:s3:::amazoncloudwatch-agent-${region}/*`],
      },
      {
        Sid: 'PhotoObjects',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: [pulumi.interpolate`${a.photosBucketArn}/photos/*`],
      },
      // Listing lets a missing photo answer 404 instead of 403; only under photos/.
      {
        Sid: 'PhotoList',
        Action: ['s3:ListBucket'],
        Resource: [a.photosBucketArn],
        Condition: { StringLike: { 's3:prefix': ['photos/*'] } },
      },
      {
        Sid: 'DataKeyThroughServices',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: [this.dataKey.arn],
        Condition: {
          StringEquals: { 'kms:ViaService': [`s3.${region}.amazonaws.com`, `secretsmanager.${region}.amazonaws.com`] },
        },
      },
      { Sid: 'AgentConfig', Action: ['ssm:GetParameter'], Resource: [a.agentConfigParameterArn] },
      {
        Sid: 'Logs',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        Resource: a.logGroupArns.map((g) => pulumi.interpolate`${g}:*`),
      },
      {
        Sid: 'Metrics',
        Action: ['cloudwatch:PutMetricData'],
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': ['CWAgent', `DAPANDA/${c.stack}`] } },
      },
      { Sid: 'AgentDescribe', Action: AGENT_ACTIONS, Resource: '*' },
      // A failed boot marks its own instance unhealthy (userdata.ts), in its own group only.
      {
        Sid: 'OwnHealth',
        Action: ['autoscaling:SetInstanceHealth'],
        Resource: [
          pulumi.interpolate`arn:aws:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/${a.asgNames[role]}`,
        ],
      },
      // Session Manager and Run Command.
      {
        Sid: 'SsmRegister',
        Action: ['ssm:UpdateInstanceInformation'],
        Resource: [pulumi.interpolate`arn:aws:ec2:${region}:${account}:instance/*`],
      },
      { Sid: 'SsmChannels', Action: SSM_CHANNEL_ACTIONS, Resource: '*' },
    ];
    const secretsOf = (role: 'web' | 'worker') => {
      const arns: pulumi.Input<string>[] = [this.secrets.session.arn, this.secrets.dbApp.arn, this.secrets.redis.arn];
      if (role === 'worker') arns.push(this.secrets.dbMigrator.arn, a.dbMasterSecretArn);
      return arns;
    };
    const make = (role: 'web' | 'worker') => {
      const r = new aws.iam.Role(
        `${this.prefix}-${role}-role`,
        {
          name: `${this.prefix}-${role}`,
          description: `DAPANDA ${role} instances`,
          assumeRolePolicy: trust({ Service: 'ec2.amazonaws.com' }),
          permissionsBoundary: a.boundaryArn,
          tags: tag(`${role}-role`),
        },
        p,
      );
      // The master secret is encrypted with RDS's choice of key (the data key, see Database).
      new aws.iam.RolePolicy(
        `${this.prefix}-${role}-policy`,
        {
          role: r.id,
          name: `${this.prefix}-${role}`,
          policy: policy([
            ...common(role),
            { Sid: 'OwnSecrets', Action: ['secretsmanager:GetSecretValue'], Resource: secretsOf(role) },
          ]),
        },
        p,
      );
      const profile = new aws.iam.InstanceProfile(
        `${this.prefix}-${role}-profile`,
        { name: `${this.prefix}-${role}`, role: r.name, tags: tag(`${role}-profile`) },
        p,
      );
      return { role: r, profile };
    };
    return { web: make('web'), worker: make('worker') };
  }

  /** CloudTrail (a multi-region trail into the logs bucket), when switched on. */
  auditTrail(logsBucket: aws.s3.Bucket, bucketPolicyReady: pulumi.Resource) {
    const c = this.args.config;
    if (!c.security.cloudTrail) return undefined;
    return new aws.cloudtrail.Trail(
      `${this.prefix}-trail`,
      {
        name: `${this.prefix}-trail`,
        s3BucketName: logsBucket.bucket,
        s3KeyPrefix: 'cloudtrail',
        isMultiRegionTrail: true,
        includeGlobalServiceEvents: true,
        enableLogFileValidation: true,
        tags: this.args.tag('trail'),
      },
      { parent: this, dependsOn: [bucketPolicyReady] },
    );
  }
}
