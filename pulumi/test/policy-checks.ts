/**
 * The policy pack's validators run directly (the pack itself needs the Pulumi CLI) on the mocked
 * stack's resources, shaped as the engine hands them to a pack: each policy must pass the real
 * stack, and must report a violation when one resource is made to break its rule.
 */
import type { Test } from 'tap';
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, ReportViolation } from '@pulumi/policy';
import { policies } from '../policy/policies';
import type { Res } from './harness';

/** Resources as a policy pack sees them: urn, props and the resources each property depends on. */
export function asPolicyResources(stack: string, resources: Res[]): PolicyResource[] {
  const out: PolicyResource[] = resources
    .filter((r) => r.custom)
    .map((r) => ({
      type: r.type,
      name: r.name,
      urn: `urn:pulumi:${stack}::dapanda::${r.type}::${r.name}`,
      props: r.inputs,
      opts: {} as PolicyResource['opts'],
      dependencies: [],
      propertyDependencies: {},
      isType: (() => false) as never,
      asType: (() => undefined) as never,
    }));
  // Which resource an input value names: its id, ARN, name or bucket name.
  // (Names can be shared: a launch template and its group are both "dapanda-dev-web".)
  const owner = new Map<string, PolicyResource[]>();
  resources
    .filter((r) => r.custom)
    .forEach((r, i) => {
      for (const v of new Set([`${r.name}-id`, r.state.arn, r.state.name, r.state.bucket]))
        if (typeof v === 'string' && v.length > 8) owner.set(v, [...(owner.get(v) ?? []), out[i]]);
    });
  const refs = (v: unknown, acc: Set<PolicyResource>): Set<PolicyResource> => {
    if (typeof v === 'string') {
      for (const o of owner.get(v) ?? []) acc.add(o);
      // An interpolated value (an ARN built from another's name or id) depends on it too.
      for (const [id, res] of owner) if (v.length > id.length && v.includes(id)) res.forEach((x) => acc.add(x));
    } else if (Array.isArray(v)) v.forEach((x) => refs(x, acc));
    else if (v && typeof v === 'object') Object.values(v).forEach((x) => refs(x, acc));
    return acc;
  };
  for (const r of out) {
    for (const [k, v] of Object.entries(r.props)) {
      const d = [...refs(v, new Set())].filter((x) => x !== r);
      if (d.length) r.propertyDependencies[k] = d;
    }
    r.dependencies = [...new Set(Object.values(r.propertyDependencies).flat())];
  }
  return out;
}

/** Runs one policy over the resources; returns its violation messages. */
export function run(policy: ResourceValidationPolicy | StackValidationPolicy, resources: PolicyResource[]): string[] {
  const found: string[] = [];
  const report: ReportViolation = (message) => void found.push(message);
  const validateResource = 'validateResource' in policy ? policy.validateResource : undefined;
  if (validateResource) {
    for (const r of resources) {
      for (const v of Array.isArray(validateResource) ? validateResource : [validateResource]) {
        void v({ ...r, getConfig: () => ({}) as never, notApplicable: () => undefined } as never, report);
      }
    }
  } else if ('validateStack' in policy && policy.validateStack) {
    void policy.validateStack(
      { resources, getConfig: () => ({}) as never, notApplicable: () => undefined } as never,
      report,
    );
  }
  return found;
}

const clone = <T>(x: T): T => structuredClone(x);

/** One way to break each rule: [policy name, which resource, what to change]. */
const BREAKS: [string, (r: PolicyResource) => boolean, (p: Record<string, any>) => void][] = [
  ['dapanda-required-tags', (r) => r.type === 'aws:rds/instance:Instance', (p) => delete p.tags['cost-centre']],
  [
    'dapanda-only-alb-public',
    (r) => r.name.endsWith('-db-in-web'),
    (p) => Object.assign(p, { cidrIpv4: '0.0.0.0/0', referencedSecurityGroupId: undefined }),
  ],
  [
    'dapanda-instance-hardening',
    (r) => r.type === 'aws:ec2/launchTemplate:LaunchTemplate',
    (p) => (p.metadataOptions.httpTokens = 'optional'),
  ],
  [
    'dapanda-encryption-at-rest',
    (r) => r.type === 'aws:elasticache/replicationGroup:ReplicationGroup',
    (p) => (p.transitEncryptionEnabled = false),
  ],
  [
    'dapanda-s3-private-versioned',
    (r) => r.type === 'aws:s3/bucketVersioning:BucketVersioning',
    (p) => (p.versioningConfiguration.status = 'Suspended'),
  ],
  [
    'dapanda-redis-noeviction',
    (r) => r.type === 'aws:elasticache/parameterGroup:ParameterGroup',
    (p) => (p.parameters[0].value = 'allkeys-lru'),
  ],
  [
    'dapanda-iam-least-privilege',
    (r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name.endsWith('-web-policy'),
    (p) =>
      (p.policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      })),
  ],
  [
    'dapanda-prod-availability',
    (r) => r.type === 'aws:rds/instance:Instance',
    (p) => Object.assign(p, { multiAz: false, tags: { ...p.tags, stack: 'prod' } }),
  ],
  [
    'dapanda-scaling-policies',
    (r) => r.type === 'aws:autoscaling/policy:Policy' && r.name.endsWith('-web-requests'),
    (p) => (p.targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType = 'ASGAverageNetworkIn'),
  ],
  ['dapanda-cost-controls', (r) => r.type === 'aws:budgets/budget:Budget', (p) => (p.timeUnit = 'ANNUALLY')],
];

export function policyChecks(t: Test, stack: string, resources: Res[]): number {
  const rs = asPolicyResources(stack, resources);
  for (const policy of policies) {
    t.test(`policy ${policy.name}`, async (t) => {
      t.same(run(policy, rs), [], `the ${stack} stack complies`);
      const breaks = BREAKS.filter(([name]) => name === policy.name);
      t.ok(breaks.length, 'a violating case exists');
      for (const [, pick, mutate] of breaks) {
        const broken = rs.map((r) =>
          pick(r)
            ? {
                ...r,
                props: (() => {
                  const p = clone(r.props);
                  mutate(p);
                  return p;
                })(),
              }
            : r,
        );
        t.ok(
          broken.some((r, i) => r !== rs[i]),
          'the violating resource exists in the stack',
        );
        t.ok(
          run(policy, broken).length > 0,
          `a violating resource is reported: ${run(policy, broken)[0] ?? 'nothing'}`,
        );
      }
    });
  }
  return policies.length;
}
