/**
 * Delivery: how GitHub Actions deploys without stored AWS keys. The repository's workflow gets a
 * short-lived token from GitHub's OIDC provider and assumes this stack's deploy role; the role's
 * trust accepts only this repository and the configured refs or environments (dev: release tags;
 * prod: the `prod` environment, which needs a manual approval).
 *
 * What the deploy role may do is what `pulumi up` of this stack needs, and no more where IAM
 * can express it: IAM writes only on this stack's roles, and only with the stack's permissions
 * boundary attached, so no role it creates or edits can exceed the boundary (the union of what the
 * instance and scheduler roles need). It cannot change the boundary or itself: those two are
 * bootstrap resources an administrator applies (`pulumi up` with admin credentials once).
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { StackConfig } from './config';
import type { Tagger } from './tags';
import { policy, trust, SSM_CHANNEL_ACTIONS, AGENT_ACTIONS, type Statement } from './iam';

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';

/** Services whose resources this stack creates and deletes (IaC needs their whole API). */
export const MANAGED_SERVICES_REGIONAL = [
  'ec2',
  'elasticloadbalancing',
  'autoscaling',
  'rds',
  'elasticache',
  'secretsmanager',
  'ssm',
  'logs',
  'cloudwatch',
  'sns',
  'scheduler',
  'acm',
  'wafv2',
  'guardduty',
  'cloudtrail',
];
export const MANAGED_SERVICES_GLOBAL = ['s3', 'cloudfront', 'route53', 'budgets'];

export interface DeliveryArgs {
  config: StackConfig;
  tag: Tagger;
}

export class Delivery extends pulumi.ComponentResource {
  readonly boundary: aws.iam.Policy;
  readonly deployRole: aws.iam.Role;
  readonly oidcProviderArn: pulumi.Output<string>;
  private readonly args: DeliveryArgs;

  constructor(name: string, args: DeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:Delivery', name, {}, opts);
    this.args = args;
    const p = { parent: this };
    const { config: c, tag } = args;
    const prefix = `${c.project}-${c.stack}`;
    const account = aws.getCallerIdentityOutput({}, p).accountId;
    const arn = (svc: string, res: string) => pulumi.interpolate`arn:aws:${svc}:${c.region}:${account}:${res}`;

    // The most any role of this stack may ever do (instance roles, the DB scheduler).
    this.boundary = new aws.iam.Policy(
      `${name}-boundary`,
      {
        name: `${prefix}-boundary`,
        description: `Permissions boundary of every ${prefix} role`,
        policy: policy([
          {
            Sid: 'Objects',
            Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'],
            Resource: [
              `arn:aws:s3:::${prefix}-*`,
              `arn:aws:s3:::amazon-ssm-${c.region}/*`,
              `arn:aws:s3:::amazoncloudwatch-agent-${c.region}/*`,
            ],
          },
          {
            Sid: 'Secrets',
            Action: ['secretsmanager:GetSecretValue'],
            Resource: [arn('secretsmanager', `secret:${prefix}/*`), arn('secretsmanager', 'secret:rds!*')],
          },
          {
            Sid: 'Keys',
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: [arn('kms', 'key/*')],
            Condition: { StringEquals: { 'aws:ResourceTag/stack': c.stack } },
          },
          { Sid: 'Parameters', Action: ['ssm:GetParameter'], Resource: [arn('ssm', `parameter/dapanda/${c.stack}/*`)] },
          {
            Sid: 'Logs',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
            Resource: [arn('logs', `log-group:/dapanda/${c.stack}/*`)],
          },
          {
            Sid: 'Health',
            Action: ['autoscaling:SetInstanceHealth'],
            Resource: [arn('autoscaling', `autoScalingGroup:*:autoScalingGroupName/${prefix}-*`)],
          },
          { Sid: 'Db', Action: ['rds:StopDBInstance', 'rds:StartDBInstance'], Resource: [arn('rds', `db:${prefix}`)] },
          { Sid: 'SsmRegister', Action: ['ssm:UpdateInstanceInformation'], Resource: [arn('ec2', 'instance/*')] },
          {
            Sid: 'Resourceless',
            Action: ['cloudwatch:PutMetricData', ...AGENT_ACTIONS, ...SSM_CHANNEL_ACTIONS],
            Resource: '*',
          },
        ]),
        tags: tag('boundary'),
      },
      p,
    );

    const g = c.github;
    if (g.createOidcProvider) {
      const provider = new aws.iam.OpenIdConnectProvider(
        `${name}-github-oidc`,
        { url: `https://${GITHUB_OIDC_HOST}`, clientIdLists: ['sts.amazonaws.com'], tags: tag('github-oidc') },
        p,
      );
      this.oidcProviderArn = provider.arn;
    } else {
      this.oidcProviderArn = pulumi.output(g.oidcProviderArn!);
    }

    this.deployRole = new aws.iam.Role(
      `${name}-deploy-role`,
      {
        name: `${prefix}-deploy`,
        description: `GitHub Actions of ${g.repository} deploying stack ${c.stack}`,
        maxSessionDuration: 3600,
        assumeRolePolicy: trust({ Federated: this.oidcProviderArn }, 'sts:AssumeRoleWithWebIdentity', {
          StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com' },
          StringLike: { [`${GITHUB_OIDC_HOST}:sub`]: g.subjects },
        }),
        tags: tag('deploy-role', { purpose: 'iac-deploy' }),
      },
      p,
    );
    this.registerOutputs({ deployRoleArn: this.deployRole.arn });
  }

  /** The deploy role's permissions, once the buckets, the worker group and the migrate document exist. */
  grant(a: {
    releasesBucketArn: pulumi.Input<string>;
    migrateDocumentArn: pulumi.Input<string>;
    workerAsgName: string;
  }) {
    const c = this.args.config;
    const p = { parent: this };
    const prefix = `${c.project}-${c.stack}`;
    const account = aws.getCallerIdentityOutput({}, p).accountId;
    const iamArn = (res: string) => pulumi.interpolate`arn:aws:iam::${account}:${res}`;
    const own = [iamArn(`role/${prefix}-*`)];
    const statements: Statement[] = [
      {
        Sid: 'UploadRelease',
        Action: ['s3:PutObject', 's3:GetObject'],
        Resource: [
          pulumi.interpolate`${a.releasesBucketArn}/releases/*`,
          pulumi.interpolate`${a.releasesBucketArn}/tools/*`,
        ],
      },
      {
        Sid: 'PulumiState',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'],
        Resource: [`arn:aws:s3:::${c.github.stateBucket}`, `arn:aws:s3:::${c.github.stateBucket}/*`],
      },
      {
        Sid: 'PulumiSecrets',
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: [pulumi.interpolate`arn:aws:kms:${c.region}:${account}:key/*`],
        Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [`alias/${c.github.stateKeyAlias}`] } },
      },
      {
        Sid: 'MigrateOnWorker',
        Action: ['ssm:SendCommand'],
        Resource: [a.migrateDocumentArn, pulumi.interpolate`arn:aws:ec2:${c.region}:${account}:instance/*`],
        Condition: { StringEqualsIfExists: { 'ssm:resourceTag/aws:autoscaling:groupName': a.workerAsgName } },
      },
      {
        Sid: 'ManageRegional',
        Action: MANAGED_SERVICES_REGIONAL.map((s) => `${s}:*`),
        Resource: '*',
        Condition: { StringEquals: { 'aws:RequestedRegion': c.region } },
      },
      { Sid: 'ManageGlobal', Action: MANAGED_SERVICES_GLOBAL.map((s) => `${s}:*`), Resource: '*' },
      {
        Sid: 'KeyCreate',
        Action: ['kms:CreateKey', 'kms:ListAliases'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:RequestedRegion': c.region } },
      },
      {
        Sid: 'KeyManagement',
        Action: [
          'kms:DescribeKey',
          'kms:GetKeyPolicy',
          'kms:PutKeyPolicy',
          'kms:GetKeyRotationStatus',
          'kms:EnableKeyRotation',
          'kms:ListResourceTags',
          'kms:TagResource',
          'kms:UntagResource',
          'kms:ScheduleKeyDeletion',
          'kms:CreateGrant',
          'kms:Decrypt',
          'kms:GenerateDataKey',
        ],
        Resource: [pulumi.interpolate`arn:aws:kms:${c.region}:${account}:key/*`],
        // Keys are created with the stack tag (tags.ts) and only those are managed.
        Condition: { StringEquals: { 'aws:ResourceTag/stack': c.stack } },
      },
      {
        Sid: 'KeyAliases',
        Action: ['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'],
        Resource: [
          pulumi.interpolate`arn:aws:kms:${c.region}:${account}:alias/${prefix}-*`,
          pulumi.interpolate`arn:aws:kms:${c.region}:${account}:key/*`,
        ],
      },
      {
        Sid: 'RolesWithinBoundary',
        Action: [
          'iam:CreateRole',
          'iam:PutRolePolicy',
          'iam:PutRolePermissionsBoundary',
          'iam:AttachRolePolicy',
          'iam:DetachRolePolicy',
        ],
        Resource: own,
        Condition: { StringEquals: { 'iam:PermissionsBoundary': this.boundary.arn } },
      },
      {
        Sid: 'RolesHousekeeping',
        Action: [
          'iam:GetRole',
          'iam:GetRolePolicy',
          'iam:ListRolePolicies',
          'iam:ListAttachedRolePolicies',
          'iam:ListInstanceProfilesForRole',
          'iam:DeleteRolePolicy',
          'iam:DeleteRole',
          'iam:TagRole',
          'iam:UntagRole',
          'iam:UpdateRole',
          'iam:UpdateAssumeRolePolicy',
        ],
        Resource: own,
      },
      {
        Sid: 'InstanceProfiles',
        Action: [
          'iam:CreateInstanceProfile',
          'iam:GetInstanceProfile',
          'iam:DeleteInstanceProfile',
          'iam:AddRoleToInstanceProfile',
          'iam:RemoveRoleFromInstanceProfile',
          'iam:TagInstanceProfile',
        ],
        Resource: [iamArn(`instance-profile/${prefix}-*`)],
      },
      {
        Sid: 'PassOwnRoles',
        Action: ['iam:PassRole'],
        Resource: own,
        Condition: { StringEquals: { 'iam:PassedToService': ['ec2.amazonaws.com', 'scheduler.amazonaws.com'] } },
      },
      {
        Sid: 'ReadPolicies',
        Action: ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:GetOpenIDConnectProvider'],
        Resource: [iamArn(`policy/${prefix}-*`), iamArn(`oidc-provider/${GITHUB_OIDC_HOST}`)],
      },
      {
        Sid: 'ServiceLinkedRoles',
        Action: ['iam:CreateServiceLinkedRole'],
        Resource: [iamArn('role/aws-service-role/*')],
        Condition: {
          StringEquals: {
            'iam:AWSServiceName': [
              'autoscaling.amazonaws.com',
              'rds.amazonaws.com',
              'elasticache.amazonaws.com',
              'elasticloadbalancing.amazonaws.com',
              'guardduty.amazonaws.com',
            ],
          },
        },
      },
      // The bootstrap pair stays out of reach: neither the boundary nor this role can be edited by it.
      {
        Sid: 'NoSelfEscalation',
        Effect: 'Deny',
        Action: [
          'iam:CreatePolicyVersion',
          'iam:DeletePolicy',
          'iam:SetDefaultPolicyVersion',
          'iam:PutRolePolicy',
          'iam:AttachRolePolicy',
          'iam:UpdateAssumeRolePolicy',
          'iam:DeleteRolePermissionsBoundary',
          'iam:DeleteRole',
        ],
        Resource: [this.boundary.arn, this.deployRole.arn],
      },
      { Sid: 'NoBoundaryRemoval', Effect: 'Deny', Action: ['iam:DeleteRolePermissionsBoundary'], Resource: own },
    ];
    new aws.iam.RolePolicy(
      `${prefix}-deploy-policy`,
      { role: this.deployRole.id, name: `${prefix}-deploy`, policy: policy(statements) },
      p,
    );
  }
}
