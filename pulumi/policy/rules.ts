/**
 * The security, availability and cost rules of the stack as plain functions over resource
 * properties, shared by the mock tests (test/stack.test.ts) and the CrossGuard policy pack
 * (policy/index.ts): one definition, two enforcers. Each rule returns the violations it found
 * (empty: compliant).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RESOURCELESS_ACTIONS } from '../src/iam';

export interface Resource {
  type: string;
  name: string;
  props: Record<string, any>;
}

export const REQUIRED_TAGS = ['project', 'stack', 'owner', 'cost-centre'];

const awsRoot = path.dirname(require.resolve('@pulumi/aws/package.json'));
const taggableCache = new Map<string, boolean>();

/** Whether a resource type accepts `tags`, read from the provider's own type definitions. */
export function isTaggable(type: string): boolean {
  const cached = taggableCache.get(type);
  if (cached !== undefined) return cached;
  const m = /^aws:([a-z0-9]+)\/([A-Za-z0-9]+):([A-Za-z0-9]+)$/.exec(type);
  let ok = false;
  if (m) {
    const file = path.join(awsRoot, m[1], `${m[2]}.d.ts`);
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      const start = text.indexOf(`export interface ${m[3]}Args {`);
      const body = start < 0 ? '' : text.slice(start, text.indexOf('\n}', start));
      ok = /\n\s+tags\?:/.test(body);
    }
  }
  taggableCache.set(type, ok);
  return ok;
}

const fail = (cond: boolean, msg: string): string[] => (cond ? [] : [msg]);
const parse = (doc: unknown): any => (typeof doc === 'string' ? JSON.parse(doc) : doc);
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every taggable resource carries the four cost allocation tags (ASGs as propagated tags). */
export function tagged(r: Resource): string[] {
  if (!r.type.startsWith('aws:') || !isTaggable(r.type)) return [];
  if (r.type === 'aws:autoscaling/group:Group') {
    const tags = (r.props.tags ?? []) as { key: string; value: string; propagateAtLaunch: boolean }[];
    return REQUIRED_TAGS.filter((k) => !tags.some((t) => t.key === k && t.value && t.propagateAtLaunch)).map(
      (k) => `${r.name}: tag ${k} missing or not propagated`,
    );
  }
  const tags = (r.props.tags ?? {}) as Record<string, string>;
  return REQUIRED_TAGS.filter((k) => !tags[k]).map((k) => `${r.name}: tag ${k} missing`);
}

/** Only the ALB's 80 and 443 may be open to the internet. */
export function noWorldIngress(r: Resource, isAlbGroup: (sgId: string) => boolean): string[] {
  if (r.type === 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule') {
    const world = r.props.cidrIpv4 === '0.0.0.0/0' || r.props.cidrIpv6 === '::/0';
    if (!world) return [];
    const ok =
      isAlbGroup(r.props.securityGroupId) &&
      r.props.ipProtocol === 'tcp' &&
      [80, 443].includes(r.props.fromPort) &&
      r.props.fromPort === r.props.toPort;
    return fail(ok, `${r.name}: open to the internet on ${r.props.fromPort}-${r.props.toPort}`);
  }
  if (
    r.type === 'aws:ec2/securityGroup:SecurityGroup' ||
    r.type === 'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup'
  ) {
    // Inline rules would escape the per-rule review: groups carry none.
    return fail(list(r.props.ingress).length === 0, `${r.name}: inline ingress rules`);
  }
  return [];
}

/** Nothing but the ALB is reachable from the internet. */
export function notPublic(r: Resource): string[] {
  switch (r.type) {
    case 'aws:rds/instance:Instance':
      return fail(r.props.publiclyAccessible === false, `${r.name}: publicly accessible`);
    case 'aws:ec2/subnet:Subnet':
      return fail(r.props.mapPublicIpOnLaunch !== true, `${r.name}: assigns public IPs`);
    case 'aws:ec2/launchTemplate:LaunchTemplate':
      return fail(
        list(r.props.networkInterfaces).every((n: any) => String(n.associatePublicIpAddress) === 'false'),
        `${r.name}: instances get a public IP`,
      );
    case 'aws:ec2/instance:Instance':
      return [`${r.name}: a standalone instance (use the Auto Scaling groups)`];
    case 'aws:lb/loadBalancer:LoadBalancer':
      return [];
    default:
      return [];
  }
}

/** Instances: IMDSv2 only, hop limit 1, no SSH key, encrypted gp3 roots. */
export function hardenedInstances(r: Resource): string[] {
  if (r.type !== 'aws:ec2/launchTemplate:LaunchTemplate') return [];
  const m = r.props.metadataOptions ?? {};
  const disks = list(r.props.blockDeviceMappings);
  return [
    ...fail(m.httpTokens === 'required', `${r.name}: IMDSv1 allowed`),
    ...fail(m.httpPutResponseHopLimit === 1, `${r.name}: IMDS hop limit ${m.httpPutResponseHopLimit}`),
    ...fail(!r.props.keyName, `${r.name}: has an SSH key`),
    ...fail(
      disks.length > 0 && disks.every((d: any) => String(d.ebs?.encrypted) === 'true' && d.ebs?.volumeType === 'gp3'),
      `${r.name}: root volume not encrypted gp3`,
    ),
  ];
}

/** Data at rest encrypted, with KMS where the service allows it. */
export function encrypted(r: Resource, kmsExempt: (r: Resource) => boolean = () => false): string[] {
  switch (r.type) {
    case 'aws:rds/instance:Instance':
      return [
        ...fail(r.props.storageEncrypted === true && !!r.props.kmsKeyId, `${r.name}: storage not KMS-encrypted`),
        ...fail(
          r.props.manageMasterUserPassword === true && !r.props.password,
          `${r.name}: master password not managed in Secrets Manager`,
        ),
      ];
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return [
        ...fail(
          r.props.atRestEncryptionEnabled === true && !!r.props.kmsKeyId,
          `${r.name}: not encrypted at rest with KMS`,
        ),
        ...fail(r.props.transitEncryptionEnabled === true, `${r.name}: no TLS in transit`),
        ...fail(!!r.props.authToken, `${r.name}: no AUTH token`),
      ];
    case 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration': {
      const algo = r.props.rules?.[0]?.applyServerSideEncryptionByDefault?.sseAlgorithm;
      return kmsExempt(r)
        ? fail(algo === 'AES256' || algo === 'aws:kms', `${r.name}: not encrypted`)
        : fail(
            algo === 'aws:kms' && !!r.props.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId,
            `${r.name}: not SSE-KMS`,
          );
    }
    case 'aws:kms/key:Key':
      return fail(r.props.enableKeyRotation === true, `${r.name}: key rotation off`);
    case 'aws:secretsmanager/secret:Secret':
      return fail(!!r.props.kmsKeyId, `${r.name}: secret with the default key`);
    case 'aws:sns/topic:Topic':
      return fail(!!r.props.kmsMasterKeyId, `${r.name}: topic not encrypted`);
    default:
      return [];
  }
}

/** Buckets: all four public access blocks on. */
export function bucketPrivate(r: Resource): string[] {
  if (r.type !== 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock') return [];
  const p = r.props;
  return fail(
    p.blockPublicAcls && p.blockPublicPolicy && p.ignorePublicAcls && p.restrictPublicBuckets,
    `${r.name}: public access not fully blocked`,
  );
}

/** Redis keeps BullMQ's keys: noeviction. */
export function redisNoEviction(r: Resource): string[] {
  if (r.type !== 'aws:elasticache/parameterGroup:ParameterGroup') return [];
  const policy = list(r.props.parameters).find((p: any) => p.name === 'maxmemory-policy');
  return fail(
    policy?.value === 'noeviction',
    `${r.name}: maxmemory-policy is ${policy?.value ?? 'the default (volatile-lru)'}`,
  );
}

export interface PolicyContext {
  /** The IaC deploy role may use service-wide actions for the services it manages. */
  deployRole: boolean;
}

/** IAM: no "*" action, no service-wide action outside the deploy role, Resource "*" only where nothing narrower exists. */
export function leastPrivilege(doc: unknown, where: string, ctx: PolicyContext = { deployRole: false }): string[] {
  const d = parse(doc);
  const out: string[] = [];
  for (const s of list<any>(d?.Statement)) {
    if (s.Effect === 'Deny') continue;
    const actions = list<string>(s.Action);
    const resources = list<string>(s.Resource);
    for (const a of actions) {
      if (a === '*') out.push(`${where} ${s.Sid ?? ''}: Action "*"`);
      else if (/^[a-z0-9-]+:\*$/.test(a) && (!ctx.deployRole || /^(iam|kms|sts|organizations):/.test(a)))
        out.push(`${where} ${s.Sid ?? ''}: service-wide action ${a}`);
      else if (a.includes('*') && !/^[a-z0-9-]+:\*$/.test(a)) out.push(`${where} ${s.Sid ?? ''}: wildcard action ${a}`);
    }
    if (resources.includes('*')) {
      const narrowerExists = actions.filter((a) => !RESOURCELESS_ACTIONS.has(a));
      const managed = ctx.deployRole && actions.every((a) => /^[a-z0-9-]+:\*$/.test(a));
      if (narrowerExists.length && !managed)
        out.push(`${where} ${s.Sid ?? ''}: Resource "*" for ${narrowerExists.join(', ')}`);
    }
    if (s.NotAction || s.NotResource) out.push(`${where} ${s.Sid ?? ''}: NotAction/NotResource`);
  }
  return out;
}

/** Trust policies: a named service, or GitHub's OIDC with audience and a repository-bound subject. */
export function safeTrust(doc: unknown, where: string): string[] {
  const d = parse(doc);
  const out: string[] = [];
  for (const s of list<any>(d?.Statement)) {
    const p = s.Principal ?? {};
    if (p === '*' || p.AWS === '*') out.push(`${where}: anyone may assume it`);
    if (p.Federated) {
      const aud = s.Condition?.StringEquals?.['token.actions.githubusercontent.com:aud'];
      const subs = list<string>(
        s.Condition?.StringLike?.['token.actions.githubusercontent.com:sub'] ??
          s.Condition?.StringEquals?.['token.actions.githubusercontent.com:sub'],
      );
      if (aud !== 'sts.amazonaws.com') out.push(`${where}: OIDC trust without the sts audience`);
      if (
        !subs.length ||
        subs.some((x) => !/^repo:[^/*:]+\/[^/*:]+:(ref:refs\/(heads|tags)\/|environment:)[^*]*\*?$/.test(x))
      )
        out.push(`${where}: OIDC subject not bound to one repository and ref/environment: ${subs.join(', ')}`);
    }
  }
  return out;
}
