/**
 * The program under Pulumi's mocks, offline, for both stacks: every property the stack promises
 * for security, availability and cost, asserted on the resources it registers. One check per
 * property, per stack; then the policy pack's validators on the same resources.
 */
import t, { type Test } from 'tap';
import * as yaml from 'js-yaml';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runStack, query, type Res } from './harness';
import * as rules from '../policy/rules';
import { policyChecks } from './policy-checks';
import type { StackConfig } from '../src/config';

type Ctx = {
  stack: 'dev' | 'prod';
  cfg: StackConfig;
  res: Res[];
  q: ReturnType<typeof query>;
  outputs: Record<string, unknown>;
};

const yamlConfig = (stack: string): StackConfig => {
  const doc = yaml.load(readFileSync(path.join(__dirname, '..', `Pulumi.${stack}.yaml`), 'utf8')) as {
    config: Record<string, any>;
  };
  const out: Record<string, any> = { stack, prod: stack === 'prod' };
  for (const [k, v] of Object.entries(doc.config)) if (k.startsWith('dapanda:')) out[k.slice(8)] = v;
  return out as StackConfig;
};
const asRes = (r: Res): rules.Resource => ({ type: r.type, name: r.name, props: r.inputs });
const json = (s: unknown) => (typeof s === 'string' ? JSON.parse(s) : s);
const ingressOf = (c: Ctx, sgName: string) =>
  c.q
    .of('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule')
    .filter(
      (r) => r.inputs.securityGroupId === `${c.stack === 'dev' ? 'dapanda-dev' : 'dapanda-prod'}-sec-${sgName}-sg-id`,
    );
const egressOf = (c: Ctx, sgName: string) =>
  c.q
    .of('aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule')
    .filter((r) => r.inputs.securityGroupId === `dapanda-${c.stack}-sec-${sgName}-sg-id`);
const sgId = (c: Ctx, sgName: string) => `dapanda-${c.stack}-sec-${sgName}-sg-id`;
const asg = (c: Ctx, role: string) =>
  c.q.one('aws:autoscaling/group:Group', (r) => r.inputs.name === `dapanda-${c.stack}-${role}`);
const policyOf = (c: Ctx, name: string) =>
  c.q.one('aws:autoscaling/policy:Policy', (r) => r.inputs.name === `dapanda-${c.stack}-${name}`);
const alarm = (c: Ctx, name: string) =>
  c.q.one('aws:cloudwatch/metricAlarm:MetricAlarm', (r) => r.inputs.name === `dapanda-${c.stack}-${name}`);
const userData = (c: Ctx, role: string) =>
  Buffer.from(
    c.q.one('aws:ec2/launchTemplate:LaunchTemplate', (r) => r.inputs.name === `dapanda-${c.stack}-${role}`).inputs
      .userData,
    'base64',
  ).toString('utf8');

type T = Test;
const checks: [string, (t: T, c: Ctx) => void][] = [
  [
    'nothing but the ALB is public (no public DB, IPs, subnets or instances)',
    (t, c) => {
      const lbs = c.q.of('aws:lb/loadBalancer:LoadBalancer');
      t.equal(lbs.length, 1, 'one load balancer');
      t.equal(lbs[0].inputs.internal, false, 'the ALB faces the internet');
      const found = c.res.flatMap((r) => rules.notPublic(asRes(r)));
      t.same(found, []);
      t.equal(
        c.q.of('aws:ec2/eip:Eip').length,
        c.cfg.network.natPerAz ? c.cfg.network.azCount : 1,
        'Elastic IPs only for the NAT gateways',
      );
    },
  ],
  [
    'no security group open to 0.0.0.0/0 but the ALB on 80/443',
    (t, c) => {
      const found = c.res.flatMap((r) => rules.noWorldIngress(asRes(r), (id) => id === sgId(c, 'alb')));
      t.same(found, []);
      t.same(
        ingressOf(c, 'alb')
          .map((r) => [r.inputs.fromPort, r.inputs.cidrIpv4])
          .sort(),
        [
          [443, '0.0.0.0/0'],
          [80, '0.0.0.0/0'],
        ],
      );
      const def = c.q.one('aws:ec2/defaultSecurityGroup:DefaultSecurityGroup');
      t.same([def.inputs.ingress, def.inputs.egress], [[], []], 'the VPC default group allows nothing');
    },
  ],
  [
    'security groups chain ALB -> web:3000 -> RDS:5432 / Redis:6379; metrics ports nowhere',
    (t, c) => {
      const rule = (r: Res) => [
        r.inputs.fromPort,
        r.inputs.toPort,
        r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4,
      ];
      t.same(ingressOf(c, 'web').map(rule), [[3000, 3000, sgId(c, 'alb')]], 'web: the app port from the ALB only');
      t.same(ingressOf(c, 'worker'), [], 'worker: nothing in');
      t.same(
        ingressOf(c, 'db').map(rule).sort(),
        [
          [5432, 5432, sgId(c, 'web')],
          [5432, 5432, sgId(c, 'worker')],
        ].sort(),
      );
      t.same(
        ingressOf(c, 'redis').map(rule).sort(),
        [
          [6379, 6379, sgId(c, 'web')],
          [6379, 6379, sgId(c, 'worker')],
        ].sort(),
      );
      t.same(egressOf(c, 'alb').map(rule), [[3000, 3000, sgId(c, 'web')]], 'the ALB talks to the web instances only');
      t.same(egressOf(c, 'db'), [], 'RDS: no egress');
      t.same(egressOf(c, 'redis'), [], 'Redis: no egress');
      for (const role of ['web', 'worker']) {
        t.same(
          egressOf(c, role).map(rule).sort(),
          [
            [443, 443, '0.0.0.0/0'],
            [5432, 5432, sgId(c, 'db')],
            [6379, 6379, sgId(c, 'redis')],
          ].sort(),
          `${role}: HTTPS out, DB, Redis`,
        );
      }
      const ports = c.q
        .of('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule')
        .flatMap((r) => [r.inputs.fromPort, r.inputs.toPort]);
      t.notOk(
        ports.some((p) => p === 9464 || p === 9465 || p === 22),
        'no rule opens the metrics ports or SSH',
      );
    },
  ],
  [
    'RDS: PostgreSQL 15, KMS-encrypted, TLS forced, managed master secret, Multi-AZ + deletion protection + 14-day PITR + final snapshot in prod',
    (t, c) => {
      const db = c.q.one('aws:rds/instance:Instance').inputs;
      const prod = c.stack === 'prod';
      t.same(rules.encrypted({ type: 'aws:rds/instance:Instance', name: 'db', props: db }), []);
      t.match(db, {
        engine: 'postgres',
        engineVersion: '15',
        storageType: 'gp3',
        multiAz: prod,
        deletionProtection: prod,
        performanceInsightsEnabled: true,
        publiclyAccessible: false,
      });
      t.ok(db.maxAllocatedStorage > db.allocatedStorage, 'storage autoscaling');
      t.equal(db.backupRetentionPeriod, c.cfg.database.backupDays);
      if (prod) {
        t.ok(db.backupRetentionPeriod >= 14, 'prod keeps 14 days (PITR window)');
        t.equal(db.skipFinalSnapshot, false);
        t.equal(db.finalSnapshotIdentifier, 'dapanda-prod-final');
      }
      const params = c.q.one('aws:rds/parameterGroup:ParameterGroup').inputs.parameters;
      t.ok(
        params.some((p: any) => p.name === 'rds.force_ssl' && p.value === '1'),
        'rds.force_ssl = 1',
      );
      t.ok(db.enabledCloudwatchLogsExports.includes('postgresql'));
    },
  ],
  [
    'Redis: noeviction, TLS + KMS at rest + AUTH from Secrets Manager, failover and Multi-AZ in prod',
    (t, c) => {
      t.same(
        c.q.of('aws:elasticache/parameterGroup:ParameterGroup').flatMap((r) => rules.redisNoEviction(asRes(r))),
        [],
      );
      const g = c.q.one('aws:elasticache/replicationGroup:ReplicationGroup');
      t.same(rules.encrypted(asRes(g)), []);
      const tokenSecret = c.q.one('aws:secretsmanager/secretVersion:SecretVersion', (r) =>
        r.name.includes('redis-auth-token'),
      );
      t.equal(g.inputs.authToken, tokenSecret.inputs.secretString, 'the AUTH token is the Secrets Manager value');
      const prod = c.stack === 'prod';
      t.match(g.inputs, {
        numCacheClusters: prod ? 2 : 1,
        automaticFailoverEnabled: prod,
        multiAzEnabled: prod,
        engine: 'redis',
      });
    },
  ],
  [
    'instances: IMDSv2 required with hop limit 1, no SSH key, encrypted gp3, Debian 12 AMI looked up',
    (t, c) => {
      const lts = c.q.of('aws:ec2/launchTemplate:LaunchTemplate');
      t.equal(lts.length, 2);
      t.same(
        lts.flatMap((r) => rules.hardenedInstances(asRes(r))),
        [],
      );
      t.ok(
        lts.every((l) => l.inputs.imageId === 'ami-0debian12mock'),
        'the AMI from the Debian lookup',
      );
    },
  ],
  [
    "user data: fetches the release from S3 and runs the release's app.sh for its role; no secret inside",
    (t, c) => {
      for (const role of ['web', 'worker']) {
        const ud = userData(c, role);
        t.match(ud, new RegExp(`DAPANDA_ROLE_UNITS:=${role}\\}`));
        t.match(ud, /releases\/\$id\.tar\.gz/);
        t.match(ud, /deploy\/provision\/app\.sh/);
        t.match(ud, new RegExp(`DAPANDA_RELEASE:=${c.cfg.release.id}\\}`));
        t.notMatch(ud, /xxxxxxxxxxxxxxxx/, 'no generated secret value (mocked as x...) in the user data');
        t.ok(Buffer.byteLength(ud) < 16384, 'under the 16 KB user data limit');
      }
      t.notMatch(
        userData(c, 'web'),
        /db-migrator-password|rds!db/,
        'web instances are not told the migrator or master secrets',
      );
    },
  ],
  [
    'scaling bounds per stack; web behind the ALB with ELB health checks; min 2 web in prod',
    (t, c) => {
      const web = asg(c, 'web').inputs;
      const worker = asg(c, 'worker').inputs;
      t.match(web, {
        minSize: c.cfg.web.min,
        maxSize: c.cfg.web.max,
        healthCheckType: 'ELB',
        defaultInstanceWarmup: c.cfg.scaling.warmupSeconds,
      });
      t.equal(web.targetGroupArns.length, 1);
      t.match(worker, { minSize: c.cfg.worker.min, maxSize: c.cfg.worker.max, healthCheckType: 'EC2' });
      t.equal(web.vpcZoneIdentifiers.length, c.cfg.network.azCount, 'spread over every AZ');
      if (c.stack === 'prod') t.ok(web.minSize >= 2 && worker.minSize >= 2, 'prod keeps two of each');
      t.ok(web.enabledMetrics.includes('GroupInServiceInstances'), 'group metrics on (ASG-at-max alarm)');
      const evening = c.q
        .of('aws:autoscaling/schedule:Schedule')
        .filter((s) => s.inputs.scheduledActionName.includes('-web-evening'));
      if (c.cfg.web.evening) {
        t.same(
          evening.map((s) => s.inputs.minSize).sort((a, b) => a - b),
          [c.cfg.web.min, c.cfg.web.evening.min],
          'the evening floor rises and falls back',
        );
      } else {
        t.equal(evening.length, 0);
      }
    },
  ],
  [
    'scaling policies: CPU target 50 %, ALBRequestCountPerTarget from the capacity model, memory steps from the agent metric',
    (t, c) => {
      for (const role of ['web', 'worker']) {
        const cpu = policyOf(c, `${role}-cpu`).inputs;
        t.match(cpu, {
          policyType: 'TargetTrackingScaling',
          targetTrackingConfiguration: {
            targetValue: 50,
            predefinedMetricSpecification: { predefinedMetricType: 'ASGAverageCPUUtilization' },
          },
        });
        const mem = policyOf(c, `${role}-memory`).inputs;
        t.match(mem, { policyType: 'StepScaling', adjustmentType: 'ChangeInCapacity' });
        t.same(
          mem.stepAdjustments.map((s: any) => s.scalingAdjustment),
          [1, 2],
        );
        const high = alarm(c, `${role}-memory-high`).inputs;
        t.match(high, {
          namespace: 'CWAgent',
          metricName: 'mem_used_percent',
          threshold: c.cfg.scaling.memoryHighPercent,
          dimensions: { AutoScalingGroupName: `dapanda-${c.stack}-${role}` },
        });
        t.same(high.alarmActions, [
          `arn:aws:autoscaling:ap-northeast-2:111122223333:dapanda-${c.stack}-${role}-memory`,
        ]);
      }
      const req = policyOf(c, 'web-requests').inputs;
      t.match(req.targetTrackingConfiguration, {
        targetValue: c.cfg.scaling.requestsPerTargetPerMinute,
        predefinedMetricSpecification: { predefinedMetricType: 'ALBRequestCountPerTarget' },
      });
      t.match(
        req.targetTrackingConfiguration.predefinedMetricSpecification.resourceLabel,
        /^app\/dapanda-\w+-alb\/\w+\/targetgroup\/dapanda-\w+-web\/\w+$/,
      );
      t.ok(
        c.q
          .of('aws:autoscaling/policy:Policy')
          .every((p) => p.inputs.estimatedInstanceWarmup === c.cfg.scaling.warmupSeconds),
        'every policy waits out the warmup',
      );
    },
  ],
  [
    'instance refresh: rolling, checkpoints, auto-rollback on the 5xx alarm; worker Spot share and capacity rebalance',
    (t, c) => {
      for (const role of ['web', 'worker']) {
        const r = asg(c, role).inputs.instanceRefresh;
        t.match(r, {
          strategy: 'Rolling',
          preferences: {
            autoRollback: true,
            checkpointPercentages: c.cfg.refresh.checkpoints,
            minHealthyPercentage: c.cfg.refresh.minHealthyPercent,
          },
        });
        t.same(r.preferences.alarmSpecification.alarms, [`dapanda-${c.stack}-alb-5xx-ratio`]);
        t.ok(alarm(c, 'alb-5xx-ratio'), 'the rollback alarm exists');
      }
      const w = asg(c, 'worker').inputs;
      t.equal(
        w.mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity,
        100 - c.cfg.worker.spotPercent,
      );
      t.equal(w.mixedInstancesPolicy.instancesDistribution.onDemandBaseCapacity, c.cfg.worker.onDemandBase);
      t.equal(w.capacityRebalance, c.cfg.worker.spotPercent > 0);
      t.same(
        w.mixedInstancesPolicy.launchTemplate.overrides.map((o: any) => o.instanceType),
        c.cfg.worker.instanceTypes,
      );
    },
  ],
  [
    'ALB: HTTPS with ACM + TLS 1.2+, HTTP -> HTTPS 301, WebSocket idle timeout, drain 30 s, /readyz checks, access logs',
    (t, c) => {
      const alb = c.q.one('aws:lb/loadBalancer:LoadBalancer').inputs;
      t.match(alb, {
        idleTimeout: 120,
        dropInvalidHeaderFields: true,
        accessLogs: { enabled: true, prefix: 'alb' },
        enableDeletionProtection: c.stack === 'prod',
      });
      const listeners = c.q.of('aws:lb/listener:Listener').map((l) => l.inputs);
      t.match(
        listeners.find((l) => l.port === 80),
        { defaultActions: [{ type: 'redirect', redirect: { protocol: 'HTTPS', statusCode: 'HTTP_301' } }] },
      );
      t.match(
        listeners.find((l) => l.port === 443),
        { protocol: 'HTTPS', sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' },
      );
      t.ok(listeners.find((l) => l.port === 443)?.certificateArn, 'a validated certificate');
      t.equal(c.q.one('aws:acm/certificate:Certificate').inputs.domainName, c.cfg.domain);
      const tg = c.q.one('aws:lb/targetGroup:TargetGroup').inputs;
      t.match(tg, { port: 3000, deregistrationDelay: 30, healthCheck: { path: '/readyz', matcher: '200' } });
    },
  ],
  [
    'WAF: common, known-bad-inputs and SQLi rule sets; rate limits on log-in/sign-up, bids and everything; on the ALB',
    (t, c) => {
      const acl = c.q.one('aws:wafv2/webAcl:WebAcl').inputs;
      const managed = acl.rules
        .filter((r: any) => r.statement.managedRuleGroupStatement)
        .map((r: any) => r.statement.managedRuleGroupStatement.name);
      t.same(managed, [
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
        'AWSManagedRulesSQLiRuleSet',
      ]);
      const rate = Object.fromEntries(
        acl.rules
          .filter((r: any) => r.statement.rateBasedStatement)
          .map((r: any) => [r.name, r.statement.rateBasedStatement]),
      );
      t.match(JSON.stringify(rate['rate-auth'].scopeDownStatement), /login\|signup/);
      t.match(JSON.stringify(rate['rate-bids'].scopeDownStatement), /bids\|buy-now/);
      t.ok(
        rate['rate-all'] && rate['rate-all'].limit > rate['rate-bids'].limit,
        'a site-wide limit above the route limits',
      );
      t.ok(acl.rules.every((r: any) => r.visibilityConfig.cloudwatchMetricsEnabled));
      t.equal(c.q.of('aws:wafv2/webAclAssociation:WebAclAssociation').length, 1);
    },
  ],
  [
    'IAM: no "*" action; Resource "*" only where nothing narrower exists; trust bound to a service or this repository',
    (t, c) => {
      const roles = c.q.of('aws:iam/role:Role');
      const deploy = (r: Res) => r.inputs.tags?.purpose === 'iac-deploy';
      const found = [
        ...c.q
          .of('aws:iam/rolePolicy:RolePolicy')
          .flatMap((p) => rules.leastPrivilege(p.inputs.policy, p.name, { deployRole: p.name.includes('-deploy-') })),
        ...c.q.of('aws:iam/policy:Policy').flatMap((p) => rules.leastPrivilege(p.inputs.policy, p.name)),
        ...roles.flatMap((r) => rules.safeTrust(r.inputs.assumeRolePolicy, r.name)),
      ];
      t.same(found, []);
      t.equal(
        c.q.of('aws:iam/rolePolicyAttachment:RolePolicyAttachment').length,
        0,
        'no AWS managed policies (their Resource "*")',
      );
      const boundary = `arn:aws:iam::111122223333:policy/dapanda-${c.stack}-boundary`;
      t.ok(
        roles.filter((r) => !deploy(r)).every((r) => r.inputs.permissionsBoundary === boundary),
        'every other role has the stack boundary',
      );
      const trust = json(roles.find(deploy)!.inputs.assumeRolePolicy).Statement[0];
      t.same(trust.Condition.StringLike['token.actions.githubusercontent.com:sub'], c.cfg.github.subjects);
    },
  ],
  [
    'instance roles: their bucket prefixes, their own secrets (web: no migrator/master), SSM, CloudWatch put',
    (t, c) => {
      const doc = (role: string) =>
        json(
          c.q.one('aws:iam/rolePolicy:RolePolicy', (r) => r.inputs.name === `dapanda-${c.stack}-${role}`).inputs.policy,
        ).Statement as any[];
      for (const role of ['web', 'worker']) {
        const s = doc(role);
        const sid = (id: string) => s.find((x) => x.Sid === id);
        t.same(sid('PhotoObjects').Resource, [`arn:aws:s3:::dapanda-${c.stack}-photos-mock/photos/*`]);
        t.same(sid('ReadRelease').Resource, [
          `arn:aws:s3:::dapanda-${c.stack}-releases-mock/releases/*`,
          `arn:aws:s3:::dapanda-${c.stack}-releases-mock/tools/*`,
        ]);
        t.same(sid('Metrics').Condition.StringEquals['cloudwatch:namespace'], ['CWAgent', `DAPANDA/${c.stack}`]);
        t.ok(sid('SsmChannels'), 'Session Manager');
        const secrets = sid('OwnSecrets').Resource as string[];
        t.equal(secrets.length, role === 'web' ? 3 : 5);
        t.equal(
          secrets.some((a) => /migrator|rds!db/.test(a)),
          role === 'worker',
        );
      }
    },
  ],
  [
    'S3: private, versioned, SSE-KMS (logs: SSE-S3 for ALB delivery), lifecycle, TLS-only policies',
    (t, c) => {
      t.equal(c.q.of('aws:s3/bucket:Bucket').length, 3);
      t.same(
        c.q.of('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').flatMap((r) => rules.bucketPrivate(asRes(r))),
        [],
      );
      t.equal(c.q.of('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').length, 3);
      t.ok(
        c.q
          .of('aws:s3/bucketVersioning:BucketVersioning')
          .every((v) => v.inputs.versioningConfiguration.status === 'Enabled'),
      );
      t.same(
        c.q
          .of('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration')
          .flatMap((r) => rules.encrypted(asRes(r), (x) => x.name.includes('-logs-'))),
        [],
      );
      const life = c.q.named('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration', 'photos').inputs.rules;
      t.match(
        life.find((r: any) => r.id === 'photos-to-ia'),
        { transitions: [{ days: 90, storageClass: 'STANDARD_IA' }] },
      );
      t.ok(
        c.q
          .of('aws:s3/bucketPolicy:BucketPolicy')
          .every((p) => json(p.inputs.policy).Statement.some((s: any) => s.Sid === 'DenyInsecureTransport')),
      );
      const photos = json(c.q.named('aws:s3/bucketPolicy:BucketPolicy', 'photos').inputs.policy).Statement;
      t.same(
        photos.filter((s: any) => s.Effect === 'Allow').map((s: any) => s.Principal),
        [{ Service: 'cloudfront.amazonaws.com' }],
        'only CloudFront reads photos',
      );
    },
  ],
  [
    'CloudFront: origin access control (sigv4, always), HTTPS only, may decrypt the photo key for its own distribution',
    (t, c) => {
      t.match(c.q.one('aws:cloudfront/originAccessControl:OriginAccessControl').inputs, {
        signingBehavior: 'always',
        signingProtocol: 'sigv4',
        originAccessControlOriginType: 's3',
      });
      const d = c.q.one('aws:cloudfront/distribution:Distribution').inputs;
      t.ok(d.origins[0].originAccessControlId);
      t.equal(d.defaultCacheBehavior.viewerProtocolPolicy, 'redirect-to-https');
      t.same(d.defaultCacheBehavior.allowedMethods, ['GET', 'HEAD']);
      const kp = json(c.q.one('aws:kms/keyPolicy:KeyPolicy').inputs.policy).Statement.find(
        (s: any) => s.Sid === 'CloudFrontReadsPhotos',
      );
      t.equal(kp.Condition.StringEquals['AWS:SourceArn'], 'arn:aws:cloudfront::111122223333:distribution/E2MOCK');
    },
  ],
  [
    'network: 2 AZs (prod 3), NAT per AZ in prod / one in dev, data subnets without a way out, VPC endpoints',
    (t, c) => {
      t.equal(c.q.of('aws:ec2/subnet:Subnet').length, 3 * c.cfg.network.azCount);
      t.equal(c.q.of('aws:ec2/natGateway:NatGateway').length, c.stack === 'prod' ? 3 : 1);
      const routes = c.q.of('aws:ec2/route:Route');
      const natRoutes = routes.filter((r) => r.inputs.natGatewayId);
      t.equal(natRoutes.length, c.cfg.network.azCount, 'each app route table goes out through NAT');
      t.equal(new Set(natRoutes.map((r) => r.inputs.natGatewayId)).size, c.stack === 'prod' ? 3 : 1);
      t.notOk(
        routes.some((r) => r.inputs.routeTableId.includes('data-rt')),
        'no route out of the data subnets',
      );
      const eps = c.q.of('aws:ec2/vpcEndpoint:VpcEndpoint');
      t.same(eps.map((e) => e.inputs.serviceName.split('.').pop()).sort(), [
        'ec2messages',
        'logs',
        'monitoring',
        's3',
        'secretsmanager',
        'ssm',
        'ssmmessages',
      ]);
      t.ok(
        eps
          .filter((e) => e.inputs.vpcEndpointType === 'Interface')
          .every((e) => e.inputs.privateDnsEnabled && e.inputs.subnetIds.length === c.cfg.network.endpointAzs),
      );
      const epIn = c.q
        .of('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule')
        .filter((r) => r.inputs.securityGroupId === `dapanda-${c.stack}-net-endpoints-sg-id`);
      t.same(
        epIn.map((r) => r.inputs.fromPort),
        [443, 443],
        'endpoints: HTTPS from web and worker only',
      );
      const s3pol = json(c.q.one('aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy').inputs.policy).Statement;
      t.notOk(
        s3pol.some((s: any) => ([] as string[]).concat(s.Resource).includes('*')),
        'the S3 endpoint reaches named buckets only',
      );
    },
  ],
  [
    'monitoring: log retention, the alarms of the runbook on one encrypted SNS topic, a dashboard',
    (t, c) => {
      t.ok(
        c.q.of('aws:cloudwatch/logGroup:LogGroup').every((g) => g.inputs.retentionInDays === c.cfg.logRetentionDays),
      );
      const names = c.q
        .of('aws:cloudwatch/metricAlarm:MetricAlarm')
        .map((a) => a.inputs.name.replace(`dapanda-${c.stack}-`, ''));
      for (const a of [
        'alb-5xx-ratio',
        'target-p99',
        'unhealthy-hosts',
        'rds-cpu',
        'rds-free-storage',
        'rds-connections',
        'redis-memory-001',
        'web-asg-at-max',
        'worker-asg-at-max',
        'auction-close-lag-p99',
      ]) {
        t.ok(names.includes(a), `alarm ${a}`);
      }
      const topic = c.q.one('aws:sns/topic:Topic');
      t.same(rules.encrypted(asRes(topic)), []);
      const runbook = c.q
        .of('aws:cloudwatch/metricAlarm:MetricAlarm')
        .filter((a) => !a.inputs.name.endsWith('memory-high'));
      t.ok(
        runbook.every(
          (a) =>
            a.inputs.alarmActions[0] === topic.inputs.name.replace(/^/, 'arn:aws:sns:ap-northeast-2:111122223333:'),
        ),
        'every runbook alarm notifies the topic',
      );
      t.equal(alarm(c, 'target-p99').inputs.threshold, 0.3, "p99 alarm at the capacity model's 300 ms");
      const agent = json(c.q.one('aws:ssm/parameter:Parameter').inputs.value);
      t.same(agent.metrics.aggregation_dimensions, [['AutoScalingGroupName']]);
      t.ok(c.q.one('aws:cloudwatch/logMetricFilter:LogMetricFilter').inputs.pattern.includes('closeLagMs'));
      t.equal(c.q.of('aws:cloudwatch/dashboard:Dashboard').length, 1);
    },
  ],
  [
    'encryption keys rotate; secrets under the stack key',
    (t, c) => {
      const found = c.res
        .filter((r) => ['aws:kms/key:Key', 'aws:secretsmanager/secret:Secret'].includes(r.type))
        .flatMap((r) => rules.encrypted(asRes(r)));
      t.same(found, []);
      t.equal(c.q.of('aws:secretsmanager/secret:Secret').length, 4);
    },
  ],
  [
    'GuardDuty and CloudTrail follow their switches',
    (t, c) => {
      t.equal(c.q.of('aws:guardduty/detector:Detector').length, c.cfg.security.guardDuty ? 1 : 0);
      t.equal(c.q.of('aws:cloudtrail/trail:Trail').length, c.cfg.security.cloudTrail ? 1 : 0);
      if (c.cfg.security.cloudTrail)
        t.match(c.q.one('aws:cloudtrail/trail:Trail').inputs, {
          isMultiRegionTrail: true,
          enableLogFileValidation: true,
        });
    },
  ],
  [
    'every taggable resource carries project, stack, owner and cost-centre',
    (t, c) => {
      const taggable = c.res.filter((r) => r.type.startsWith('aws:') && rules.isTaggable(r.type));
      t.ok(taggable.length > 100, `${taggable.length} taggable resources`);
      t.same(
        taggable.flatMap((r) => rules.tagged(asRes(r))),
        [],
      );
      t.ok(taggable.every((r) => r.type === 'aws:autoscaling/group:Group' || r.inputs.tags.stack === c.stack));
      const lt = c.q.of('aws:ec2/launchTemplate:LaunchTemplate');
      t.ok(
        lt.every((l) => l.inputs.tagSpecifications.every((s: any) => rules.REQUIRED_TAGS.every((k) => s.tags[k]))),
        'instances and volumes tagged at launch',
      );
    },
  ],
  [
    'budget: monthly on the stack tag with actual and forecast alerts',
    (t, c) => {
      const b = c.q.one('aws:budgets/budget:Budget').inputs;
      t.match(b, {
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        limitAmount: c.cfg.budget.monthlyUsd.toFixed(2),
        costFilters: [{ name: 'TagKeyValue', values: [`user:stack$${c.stack}`] }],
      });
      t.same(
        b.notifications.filter((n: any) => n.notificationType === 'ACTUAL').map((n: any) => n.threshold),
        c.cfg.budget.actualThresholds,
      );
      t.equal(b.notifications.filter((n: any) => n.notificationType === 'FORECASTED').length, 1);
    },
  ],
  [
    'dev sleeps at night (both groups to 0, the database stopped); prod never',
    (t, c) => {
      const sched = c.q.of('aws:autoscaling/schedule:Schedule');
      const db = c.q.of('aws:scheduler/schedule:Schedule');
      if (c.stack === 'dev') {
        const night = sched.filter((s) => s.inputs.scheduledActionName.endsWith('-night'));
        t.equal(night.length, 2);
        t.ok(
          night.every(
            (s) =>
              s.inputs.minSize === 0 &&
              s.inputs.maxSize === 0 &&
              s.inputs.desiredCapacity === 0 &&
              s.inputs.timeZone === 'Asia/Seoul',
          ),
        );
        t.same(db.map((s) => s.inputs.target.arn).sort(), [
          'arn:aws:scheduler:::aws-sdk:rds:startDBInstance',
          'arn:aws:scheduler:::aws-sdk:rds:stopDBInstance',
        ]);
        const role = json(c.q.one('aws:iam/rolePolicy:RolePolicy', (r) => r.name.includes('scheduler')).inputs.policy)
          .Statement[0];
        t.same(
          role.Resource,
          ['arn:aws:rds:ap-northeast-2:111122223333:db:dapanda-dev'],
          'the scheduler may stop and start this database only',
        );
      } else {
        t.equal(
          sched.filter((s) => !s.inputs.scheduledActionName.includes('-web-evening')).length + db.length,
          0,
          'no night schedule',
        );
      }
    },
  ],
  [
    'delivery: the GitHub OIDC deploy role (created once per account) with the migrate document it may run',
    (t, c) => {
      t.equal(
        c.q.of('aws:iam/openIdConnectProvider:OpenIdConnectProvider').length,
        c.cfg.github.createOidcProvider ? 1 : 0,
      );
      const deploy = json(c.q.one('aws:iam/rolePolicy:RolePolicy', (r) => r.name.includes('-deploy-')).inputs.policy)
        .Statement as any[];
      const sid = (id: string) => deploy.find((s) => s.Sid === id);
      t.same(
        sid('MigrateOnWorker').Condition.StringEqualsIfExists['ssm:resourceTag/aws:autoscaling:groupName'],
        `dapanda-${c.stack}-worker`,
      );
      t.match(sid('RolesWithinBoundary').Condition.StringEquals['iam:PermissionsBoundary'], /boundary$/);
      t.ok(sid('NoSelfEscalation') && sid('NoSelfEscalation').Effect === 'Deny');
      t.equal(c.q.one('aws:ssm/document:Document').inputs.name, `dapanda-${c.stack}-migrate`);
    },
  ],
];

const counts: Record<string, number> = {};
for (const stack of ['dev', 'prod'] as const) {
  t.test(`stack ${stack}`, async (t) => {
    const { resources, outputs } = await runStack(stack);
    const c: Ctx = { stack, cfg: yamlConfig(stack), res: resources, q: query(resources), outputs };
    t.equal(outputs.url, `https://${c.cfg.domain}`);
    for (const [name, fn] of checks) t.test(name, async (t) => fn(t, c));
    // The CrossGuard pack's validators on the same resources: compliant, then one violation each.
    const n = policyChecks(t, stack, resources);
    counts[stack] = checks.length;
    t.comment(
      `${stack}: ${checks.length} properties asserted, ${n} policies each with a compliant and a violating case`,
    );
  });
}
t.teardown(() => void counts);
