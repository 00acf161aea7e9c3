/**
 * The stack's rules as CrossGuard policies (run with `pulumi preview --policy-pack pulumi/policy`).
 * The checks themselves are the functions of rules.ts, the same ones the mock tests use; this
 * file adapts them to resource- and stack-level policies. Stack-level policies follow the
 * engine's property dependencies, so they hold during a preview where ids are not known yet.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import * as rules from './rules';

type Policy = ResourceValidationPolicy | StackValidationPolicy;
const mandatory = 'mandatory' as const;
const asRule = (r: { type: string; name: string; props: Record<string, any> }): rules.Resource => ({
  type: r.type,
  name: r.name,
  props: r.props,
});
const deps = (r: PolicyResource, prop: string): PolicyResource[] => r.propertyDependencies?.[prop] ?? [];
const ofType = (rs: PolicyResource[], type: string) => rs.filter((r) => r.type === type);
const stackOf = (rs: PolicyResource[]) =>
  rs.map((r) => r.props.tags?.stack).find((s): s is string => typeof s === 'string');

export const policies: Policy[] = [
  {
    name: 'dapanda-required-tags',
    description: 'Every taggable resource carries project, stack, owner and cost-centre.',
    enforcementLevel: mandatory,
    validateResource: (args, report) => rules.tagged(asRule(args)).forEach((v) => report(v)),
  },
  {
    name: 'dapanda-only-alb-public',
    description:
      'Only the internet-facing ALB is public: 0.0.0.0/0 only on its security groups and only to 80/443; no public DB, IP or subnet.',
    enforcementLevel: mandatory,
    validateStack: (args, report) => {
      const albGroups = new Set(
        ofType(args.resources, 'aws:lb/loadBalancer:LoadBalancer')
          .filter((lb) => lb.props.internal === false)
          .flatMap((lb) => deps(lb, 'securityGroups'))
          .map((sg) => sg.urn),
      );
      for (const r of args.resources) {
        const onAlb = () => deps(r, 'securityGroupId').some((sg) => albGroups.has(sg.urn));
        for (const v of [...rules.noWorldIngress(asRule(r), onAlb), ...rules.notPublic(asRule(r))]) report(v, r.urn);
      }
    },
  },
  {
    name: 'dapanda-instance-hardening',
    description: 'Launch templates: IMDSv2 only with hop limit 1, no SSH key, encrypted gp3 roots.',
    enforcementLevel: mandatory,
    validateResource: (args, report) => rules.hardenedInstances(asRule(args)).forEach((v) => report(v)),
  },
  {
    name: 'dapanda-encryption-at-rest',
    description:
      'RDS, ElastiCache, S3, Secrets Manager and SNS encrypted with KMS keys that rotate (the ALB log bucket: SSE-S3, all ALB log delivery accepts).',
    enforcementLevel: mandatory,
    validateStack: (args, report) => {
      const logBuckets = new Set(
        ofType(args.resources, 'aws:lb/loadBalancer:LoadBalancer')
          .flatMap((lb) => deps(lb, 'accessLogs'))
          .map((b) => b.urn),
      );
      for (const r of args.resources) {
        const exempt = () => deps(r, 'bucket').some((b) => logBuckets.has(b.urn));
        rules.encrypted(asRule(r), exempt).forEach((v) => report(v, r.urn));
      }
    },
  },
  {
    name: 'dapanda-s3-private-versioned',
    description: 'Every bucket: all public access blocked, versioning on, default encryption and a lifecycle.',
    enforcementLevel: mandatory,
    validateStack: (args, report) => {
      for (const r of args.resources) rules.bucketPrivate(asRule(r)).forEach((v) => report(v, r.urn));
      const companions: [string, string, (p: any) => boolean][] = [
        ['aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'public access block', () => true],
        [
          'aws:s3/bucketVersioning:BucketVersioning',
          'versioning',
          (p) => p.versioningConfiguration?.status === 'Enabled',
        ],
        [
          'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
          'default encryption',
          () => true,
        ],
        [
          'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
          'lifecycle',
          (p) => (p.rules ?? []).length > 0,
        ],
      ];
      for (const b of ofType(args.resources, 'aws:s3/bucket:Bucket')) {
        for (const [type, what, ok] of companions) {
          const has = ofType(args.resources, type).some(
            (c) => deps(c, 'bucket').some((d) => d.urn === b.urn) && ok(c.props),
          );
          if (!has) report(`${b.name}: no ${what}`, b.urn);
        }
      }
    },
  },
  {
    name: 'dapanda-redis-noeviction',
    description: 'Redis holds BullMQ timers: its parameter group sets maxmemory-policy noeviction.',
    enforcementLevel: mandatory,
    validateStack: (args, report) => {
      for (const r of args.resources) rules.redisNoEviction(asRule(r)).forEach((v) => report(v, r.urn));
      for (const g of ofType(args.resources, 'aws:elasticache/replicationGroup:ReplicationGroup')) {
        const pg = deps(g, 'parameterGroupName');
        if (!pg.length || pg.some((p) => rules.redisNoEviction(asRule(p)).length))
          report(`${g.name}: not on a noeviction parameter group`, g.urn);
      }
    },
  },
  {
    name: 'dapanda-iam-least-privilege',
    description:
      'No "*" action, no service-wide action outside the IaC deploy role, Resource "*" only where nothing narrower exists; trust only services or this repository over OIDC.',
    enforcementLevel: mandatory,
    validateStack: (args, report) => {
      for (const r of args.resources) {
        if (r.type === 'aws:iam/rolePolicy:RolePolicy') {
          const deployRole = deps(r, 'role').some((role) => role.props.tags?.purpose === 'iac-deploy');
          rules.leastPrivilege(r.props.policy, r.name, { deployRole }).forEach((v) => report(v, r.urn));
        }
        if (r.type === 'aws:iam/policy:Policy')
          rules.leastPrivilege(r.props.policy, r.name).forEach((v) => report(v, r.urn));
        if (r.type === 'aws:iam/role:Role')
          rules.safeTrust(r.props.assumeRolePolicy, r.name).forEach((v) => report(v, r.urn));
        if (r.type === 'aws:iam/rolePolicyAttachment:RolePolicyAttachment')
          report(`${r.name}: attached managed policy (write the actions out)`, r.urn);
      }
    },
  },
  {
    name: 'dapanda-prod-availability',
    description:
      'In prod: RDS Multi-AZ, deletion protection, 14 days of backups and a final snapshot; Redis with a replica and failover; at least 2 web instances.',
    enforcementLevel: mandatory,
    validateResource: (args, report) => {
      const p = args.props;
      const tags = Array.isArray(p.tags)
        ? Object.fromEntries(p.tags.map((t: any) => [t.key, t.value]))
        : (p.tags ?? {});
      if (tags.stack !== 'prod') return;
      if (args.type === 'aws:rds/instance:Instance') {
        if (!p.multiAz) report('RDS is not Multi-AZ');
        if (!p.deletionProtection) report('RDS has no deletion protection');
        if (!(p.backupRetentionPeriod >= 14)) report(`RDS keeps ${p.backupRetentionPeriod} days of backups (< 14)`);
        if (p.skipFinalSnapshot) report('RDS skips its final snapshot');
      }
      if (
        args.type === 'aws:elasticache/replicationGroup:ReplicationGroup' &&
        !(p.numCacheClusters >= 2 && p.automaticFailoverEnabled && p.multiAzEnabled)
      )
        report('Redis has no replica with automatic Multi-AZ failover');
      if (args.type === 'aws:autoscaling/group:Group' && (p.targetGroupArns ?? []).length && !(p.minSize >= 2))
        report(`web group min ${p.minSize} (< 2)`);
    },
  },
  {
    name: 'dapanda-scaling-policies',
    description:
      'Every group scales on CPU (target 40-60 %) and memory (agent metric, steps); the web group also on ALBRequestCountPerTarget; refreshes roll back on an alarm.',
    enforcementLevel: mandatory,
    validateStack: (args, report) => {
      const pols = ofType(args.resources, 'aws:autoscaling/policy:Policy');
      const alarms = ofType(args.resources, 'aws:cloudwatch/metricAlarm:MetricAlarm');
      for (const g of ofType(args.resources, 'aws:autoscaling/group:Group')) {
        const mine = pols.filter((p) => deps(p, 'autoscalingGroupName').some((d) => d.urn === g.urn));
        const tt = (metric: string) =>
          mine.find(
            (p) => p.props.targetTrackingConfiguration?.predefinedMetricSpecification?.predefinedMetricType === metric,
          );
        const cpu = tt('ASGAverageCPUUtilization');
        if (
          !cpu ||
          !(
            cpu.props.targetTrackingConfiguration.targetValue >= 40 &&
            cpu.props.targetTrackingConfiguration.targetValue <= 60
          )
        )
          report(`${g.name}: no CPU target tracking at 40-60 %`, g.urn);
        if ((g.props.targetGroupArns ?? []).length && !tt('ALBRequestCountPerTarget'))
          report(`${g.name}: behind the ALB without ALBRequestCountPerTarget scaling`, g.urn);
        const steps = mine.filter((p) => p.props.policyType === 'StepScaling');
        const memory = steps.some((s) =>
          alarms.some(
            (a) =>
              a.props.metricName === 'mem_used_percent' &&
              a.props.namespace === 'CWAgent' &&
              deps(a, 'alarmActions').some((d) => d.urn === s.urn),
          ),
        );
        if (!memory) report(`${g.name}: no memory step scaling on the CloudWatch agent's mem_used_percent`, g.urn);
        const refresh = g.props.instanceRefresh?.preferences;
        if (
          !refresh?.autoRollback ||
          !(refresh.alarmSpecification?.alarms ?? []).length ||
          !(refresh.checkpointPercentages ?? []).length
        )
          report(`${g.name}: instance refresh without checkpoints and alarm rollback`, g.urn);
      }
    },
  },
  {
    name: 'dapanda-cost-controls',
    description: 'A monthly budget per stack; dev groups go to zero at night.',
    enforcementLevel: mandatory,
    validateStack: (args, report) => {
      if (!ofType(args.resources, 'aws:budgets/budget:Budget').some((b) => b.props.timeUnit === 'MONTHLY'))
        report('no monthly budget');
      if (stackOf(args.resources) !== 'dev') return;
      const night = ofType(args.resources, 'aws:autoscaling/schedule:Schedule').filter(
        (s) => s.props.maxSize === 0 && s.props.desiredCapacity === 0,
      );
      for (const g of ofType(args.resources, 'aws:autoscaling/group:Group')) {
        if (!night.some((s) => deps(s, 'autoscalingGroupName').some((d) => d.urn === g.urn)))
          report(`${g.name}: dev group never scales to zero`, g.urn);
      }
    },
  },
];
