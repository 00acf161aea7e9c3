/**
 * Runs the real program (src/stack.ts with the committed Pulumi.<stack>.yaml) under Pulumi's
 * mocks, offline, and returns every resource it registered with its resolved inputs. The mocks
 * answer what AWS would compute (ARNs, names, endpoints) with stable fake values.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as yaml from 'js-yaml';

export const ACCOUNT = '111122223333';
export const REGION = 'ap-northeast-2';

export interface Res {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** What the mocked provider answered (inputs and computed outputs). */
  state: Record<string, any>;
  custom: boolean;
}

const ROOT = path.resolve(__dirname, '..');

/** The stack file's `config:` as Pulumi's runtime wants it: "ns:key" -> string (objects as JSON). */
export function stackConfig(stack: string): Record<string, string> {
  const doc = yaml.load(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), 'utf8')) as {
    config: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(doc.config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

function computed(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  const n = (inputs.name as string | undefined) ?? name;
  const arnOf = (svc: string, res: string) => `arn:aws:${svc}:${REGION}:${ACCOUNT}:${res}`;
  const out: Record<string, any> = { arn: arnOf(type.split(':')[1].split('/')[0], `${n}`) };
  switch (type) {
    case 'aws:s3/bucket:Bucket': {
      const bucket = `${inputs.bucketPrefix ?? n}mock`;
      Object.assign(out, {
        bucket,
        arn: `arn:aws:s3:::${bucket}`,
        bucketRegionalDomainName: `${bucket}.s3.${REGION}.amazonaws.com`,
      });
      break;
    }
    case 'aws:lb/loadBalancer:LoadBalancer':
      Object.assign(out, {
        arnSuffix: `app/${n}/0123456789abcdef`,
        dnsName: `${n}-1.${REGION}.elb.amazonaws.com`,
        zoneId: 'ZWKZPGTI48KDX',
      });
      break;
    case 'aws:lb/targetGroup:TargetGroup':
      out.arnSuffix = `targetgroup/${n}/0123456789abcdef`;
      break;
    case 'aws:cloudfront/distribution:Distribution':
      Object.assign(out, {
        domainName: 'd111111abcdef8.cloudfront.net',
        arn: `arn:aws:cloudfront::${ACCOUNT}:distribution/E2MOCK`,
      });
      break;
    case 'aws:rds/instance:Instance':
      Object.assign(out, {
        arn: arnOf('rds', `db:${inputs.identifier}`),
        address: `${inputs.identifier}.cmock.${REGION}.rds.amazonaws.com`,
        masterUserSecrets: [{ secretArn: arnOf('secretsmanager', 'secret:rds!db-mock-AbCdEf') }],
      });
      break;
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      out.primaryEndpointAddress = `master.${inputs.replicationGroupId}.mock.apn2.cache.amazonaws.com`;
      break;
    case 'aws:ec2/launchTemplate:LaunchTemplate':
      out.latestVersion = 1;
      break;
    case 'aws:kms/key:Key':
      Object.assign(out, { keyId: `${name}-id`, arn: arnOf('kms', `key/${name}-id`) });
      break;
    case 'aws:acm/certificate:Certificate':
      out.domainValidationOptions = [
        {
          domainName: inputs.domainName,
          resourceRecordName: `_x.${inputs.domainName}.`,
          resourceRecordType: 'CNAME',
          resourceRecordValue: '_y.acm-validations.aws.',
        },
      ];
      break;
    case 'aws:acm/certificateValidation:CertificateValidation':
      out.certificateArn = inputs.certificateArn;
      break;
    case 'aws:route53/record:Record':
      out.fqdn = inputs.name;
      break;
    case 'aws:secretsmanager/secret:Secret':
      out.arn = arnOf('secretsmanager', `secret:${inputs.name}-AbCdEf`);
      break;
    case 'aws:iam/role:Role':
    case 'aws:iam/policy:Policy':
    case 'aws:iam/instanceProfile:InstanceProfile':
      out.arn = `arn:aws:iam::${ACCOUNT}:${type.includes('policy') ? 'policy' : type.includes('instanceProfile') ? 'instance-profile' : 'role'}/${n}`;
      break;
    case 'random:index/randomPassword:RandomPassword':
      out.result = 'x'.repeat(inputs.length ?? 32);
      break;
  }
  return { name: n, ...out };
}

let ran = false;

/** Builds one stack under mocks; returns its resources once registration has settled. */
export async function runStack(stack: 'dev' | 'prod'): Promise<{ resources: Res[]; outputs: Record<string, unknown> }> {
  const resources: Res[] = [];
  pulumi.runtime.setAllConfig(stackConfig(stack));
  pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        const state = { ...a.inputs, ...computed(a.type, a.name, a.inputs) };
        resources.push({
          type: a.type,
          name: a.name,
          inputs: unwrapSecrets(a.inputs),
          state: unwrapSecrets(state),
          custom: a.custom ?? true,
        });
        return { id: `${a.name}-id`, state };
      },
      call: (a) => {
        switch (a.token) {
          case 'aws:index/getAvailabilityZones:getAvailabilityZones':
            return { names: [`${REGION}a`, `${REGION}b`, `${REGION}c`, `${REGION}d`], zoneIds: [] };
          case 'aws:index/getCallerIdentity:getCallerIdentity':
            return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/mock`, userId: 'mock' };
          case 'aws:ec2/getAmi:getAmi':
            return { id: 'ami-0debian12mock', name: 'debian-12-amd64-20260101-0000' };
          case 'aws:elb/getServiceAccount:getServiceAccount':
            return { arn: 'arn:aws:iam::600734575887:root', id: '600734575887' };
          default:
            throw new Error(`unmocked call ${a.token}`);
        }
      },
    },
    'dapanda',
    stack,
    false,
  );
  ran = true;
  // Loaded after the mocks are in place (the SDK reads its settings at first use).
  const { build } = await import('../src/stack');
  const out = build();
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) outputs[k] = await resolve(v as pulumi.Input<unknown>);
  // Registration is asynchronous: wait until no new resource appears for a moment.
  for (let last = -1, i = 0; last !== resources.length && i < 100; i++) {
    last = resources.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { resources, outputs };
}

/** Pulumi marks secret inputs with a signature key; the tests look at the values inside. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
function unwrapSecrets(v: any): any {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === 'object') {
    if (SECRET_SIG in v && 'value' in v) return unwrapSecrets(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

export function resolve<T>(v: pulumi.Input<T>): Promise<T> {
  return new Promise((r) => pulumi.output(v).apply((x) => (r(x as T), x)));
}

export const isMockRun = () => ran;

/** Helpers over the recorded resources. */
export function query(resources: Res[]) {
  const of = (type: string) => resources.filter((r) => r.type === type);
  const one = (type: string, pred: (r: Res) => boolean = () => true) => {
    const found = of(type).filter(pred);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0];
  };
  const named = (type: string, part: string) => one(type, (r) => r.name.includes(part));
  return { of, one, named };
}
