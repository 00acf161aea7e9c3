/**
 * The stack's settings, read once from Pulumi.<stack>.yaml and checked: sizes and switches live
 * there, structure lives in code. A missing or out-of-range value stops `pulumi up` before any
 * resource is touched, naming the key.
 */
import * as pulumi from '@pulumi/pulumi';

export interface NetworkConfig {
  cidr: string;
  /** Availability zones used (2 in dev, 3 in prod). */
  azCount: number;
  /** One NAT gateway per AZ (an AZ outage leaves the others' egress intact) or one shared. */
  natPerAz: boolean;
  /** AZs that carry the interface endpoints (each endpoint costs per AZ-hour). */
  endpointAzs: number;
}

export interface WebConfig {
  instanceType: string;
  min: number;
  max: number;
  /** Raise the floor ahead of the evening's auction endings (target tracking is minutes late for a 10x surge). */
  evening?: { min: number; fromCron: string; toCron: string };
}

export interface WorkerConfig {
  /** The first is the launch template's; the others are Spot alternatives of the same size. */
  instanceTypes: string[];
  min: number;
  max: number;
  onDemandBase: number;
  /** Share of capacity above the on-demand base that runs on Spot, 0-100. */
  spotPercent: number;
}

export interface ScalingConfig {
  cpuTargetPercent: number;
  /** ALBRequestCountPerTarget target: requests per instance per minute (pulumi/CAPACITY.md). */
  requestsPerTargetPerMinute: number;
  /** Memory step scaling thresholds on the agent's mem_used_percent. */
  memoryHighPercent: number;
  memoryCriticalPercent: number;
  warmupSeconds: number;
}

export interface RefreshConfig {
  minHealthyPercent: number;
  checkpoints: number[];
  checkpointDelaySeconds: number;
}

export interface DatabaseConfig {
  instanceClass: string;
  allocatedGb: number;
  maxAllocatedGb: number;
  multiAz: boolean;
  backupDays: number;
  deletionProtection: boolean;
  /** max_connections of the instance class; the connections alarm fires at 80 % of it. */
  maxConnections: number;
  performanceInsightsDays: number;
}

export interface CacheConfig {
  nodeType: string;
  /** 1: primary only (dev); 2+: primary and replicas with automatic failover (prod). */
  nodes: number;
  snapshotDays: number;
}

export interface ReleaseConfig {
  /** Release tarball name without .tar.gz, under s3://<releases bucket>/releases/. */
  id: string;
  /** Node.js linux-x64 tarball under s3://<releases bucket>/tools/ (Debian 12 ships Node 18). */
  nodeTarball: string;
}

export interface ScheduleConfig {
  scaleToZero: boolean;
  timezone: string;
  /** ASG recurrence (cron, in `timezone`). */
  downCron: string;
  upCron: string;
  /** EventBridge Scheduler expressions: the database stops after the instances and starts before them. */
  dbStopCron: string;
  dbStartCron: string;
}

export interface BudgetConfig {
  monthlyUsd: number;
  /** Percent of the budget: actual spend alerts. */
  actualThresholds: number[];
  forecastThreshold: number;
  emails: string[];
}

export interface GithubConfig {
  /** owner/name */
  repository: string;
  /** OIDC `sub` patterns allowed to assume the deploy role. */
  subjects: string[];
  /** The account's one GitHub OIDC provider: created by this stack, or an existing ARN. */
  createOidcProvider: boolean;
  oidcProviderArn?: string;
  /** Pulumi state backend bucket and KMS key alias of the secrets provider the deploy role may use. */
  stateBucket: string;
  stateKeyAlias: string;
}

export interface StackConfig {
  project: string;
  stack: string;
  region: string;
  prod: boolean;
  owner: string;
  costCentre: string;
  domain: string;
  hostedZoneId: string;
  alarmEmail: string;
  logRetentionDays: number;
  network: NetworkConfig;
  web: WebConfig;
  worker: WorkerConfig;
  scaling: ScalingConfig;
  refresh: RefreshConfig;
  database: DatabaseConfig;
  cache: CacheConfig;
  release: ReleaseConfig;
  schedule: ScheduleConfig;
  budget: BudgetConfig;
  security: { guardDuty: boolean; cloudTrail: boolean };
  github: GithubConfig;
}

export class StackConfigError extends Error {}

function check(cond: boolean, key: string, msg: string): void {
  if (!cond) throw new StackConfigError(`dapanda:${key} ${msg}`);
}

const between = (v: number, lo: number, hi: number) => Number.isFinite(v) && v >= lo && v <= hi;

/** Validates a raw stack config (also used by the tests on the committed YAML files). */
export function validate(c: StackConfig): StackConfig {
  check(/^[a-z][a-z0-9-]{1,15}$/.test(c.stack), 'stack', 'must be a short lower-case name');
  check(/^[a-z0-9.-]+\.[a-z]{2,}$/.test(c.domain), 'domain', 'must be a DNS name');
  check(/^Z[A-Z0-9]{4,40}$/.test(c.hostedZoneId), 'hostedZoneId', 'must be a Route 53 hosted zone id (Z...)');
  check(/^[^@\s]+@[^@\s]+$/.test(c.alarmEmail), 'alarmEmail', 'must be an e-mail address');
  check(
    c.owner.length > 0 && c.costCentre.length > 0,
    'owner',
    'and dapanda:costCentre are required (cost allocation tags)',
  );
  check(
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365].includes(c.logRetentionDays),
    'logRetentionDays',
    'must be a CloudWatch retention value',
  );
  const n = c.network;
  check(/^10\.\d+\.0\.0\/16$/.test(n.cidr), 'network.cidr', 'must be a 10.x.0.0/16');
  check(between(n.azCount, 2, 3), 'network.azCount', 'must be 2 or 3');
  check(between(n.endpointAzs, 1, n.azCount), 'network.endpointAzs', 'must be 1..azCount');
  check(between(c.web.min, 0, c.web.max) && c.web.max <= 50, 'web', 'needs 0 <= min <= max <= 50');
  if (c.web.evening)
    check(between(c.web.evening.min, c.web.min, c.web.max), 'web.evening.min', 'must be between web.min and web.max');
  check(between(c.worker.min, 0, c.worker.max) && c.worker.max <= 20, 'worker', 'needs 0 <= min <= max <= 20');
  check(c.worker.instanceTypes.length >= 1, 'worker.instanceTypes', 'needs at least one type');
  check(between(c.worker.spotPercent, 0, 100), 'worker.spotPercent', 'must be 0-100');
  check(between(c.worker.onDemandBase, 0, c.worker.max), 'worker.onDemandBase', 'must be 0..max');
  const s = c.scaling;
  check(between(s.cpuTargetPercent, 20, 90), 'scaling.cpuTargetPercent', 'must be 20-90');
  check(
    between(s.requestsPerTargetPerMinute, 60, 1_000_000),
    'scaling.requestsPerTargetPerMinute',
    'must come from CAPACITY.md',
  );
  check(
    between(s.memoryHighPercent, 40, 95) &&
      s.memoryCriticalPercent > s.memoryHighPercent &&
      s.memoryCriticalPercent <= 98,
    'scaling.memory*',
    'needs high < critical <= 98',
  );
  check(between(s.warmupSeconds, 30, 900), 'scaling.warmupSeconds', 'must be 30-900');
  const r = c.refresh;
  check(between(r.minHealthyPercent, 0, 100), 'refresh.minHealthyPercent', 'must be 0-100');
  check(
    r.checkpoints.length > 0 &&
      r.checkpoints.at(-1) === 100 &&
      r.checkpoints.every((p, i) => p > (r.checkpoints[i - 1] ?? 0)),
    'refresh.checkpoints',
    'must rise and end at 100',
  );
  const d = c.database;
  check(d.instanceClass.startsWith('db.'), 'database.instanceClass', 'must be an RDS class (db.*)');
  check(between(d.allocatedGb, 20, d.maxAllocatedGb), 'database.allocatedGb', 'must be 20..maxAllocatedGb');
  check(between(d.backupDays, 1, 35), 'database.backupDays', 'must be 1-35 (0 would turn off PITR)');
  check(
    [7, 31, 62, 93, 186, 372, 731].includes(d.performanceInsightsDays),
    'database.performanceInsightsDays',
    'must be a Performance Insights retention value',
  );
  check(
    c.cache.nodeType.startsWith('cache.') && between(c.cache.nodes, 1, 6),
    'cache',
    'needs a cache.* node type and 1-6 nodes',
  );
  check(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(c.release.id),
    'release.id',
    'must be a release name (dapanda-<version>-<sha>)',
  );
  check(
    /^node-v2\d\.\d+\.\d+-linux-x64\.tar\.xz$/.test(c.release.nodeTarball),
    'release.nodeTarball',
    'must be node-v2x.y.z-linux-x64.tar.xz',
  );
  if (c.schedule.scaleToZero) {
    const cron5 = /^[0-9*,/-]+ [0-9*,/-]+ [0-9*,/?-]+ [0-9*,/-]+ [0-9A-Z*,/?-]+$/;
    check(
      cron5.test(c.schedule.downCron) && cron5.test(c.schedule.upCron),
      'schedule.downCron',
      'and upCron must be 5-field cron expressions',
    );
    check(
      /^cron\(.+\)$/.test(c.schedule.dbStopCron) && /^cron\(.+\)$/.test(c.schedule.dbStartCron),
      'schedule.dbStopCron',
      'and dbStartCron must be cron(...) expressions',
    );
  }
  check(c.budget.monthlyUsd > 0 && c.budget.emails.length > 0, 'budget', 'needs monthlyUsd and emails');
  check(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(c.github.repository), 'github.repository', 'must be owner/name');
  check(
    c.github.subjects.length > 0 &&
      c.github.subjects.every((s) => s.startsWith(`repo:${c.github.repository}:`) && !s.endsWith(':*')),
    'github.subjects',
    'must name this repository and a ref or environment (never repo:*)',
  );
  check(
    c.github.createOidcProvider || !!c.github.oidcProviderArn,
    'github.oidcProviderArn',
    'is required when createOidcProvider is false',
  );
  if (c.prod) {
    check(
      d.multiAz && d.deletionProtection && d.backupDays >= 14,
      'database',
      'in prod needs multiAz, deletionProtection and backupDays >= 14',
    );
    check(c.cache.nodes >= 2, 'cache.nodes', 'in prod needs a replica (>= 2)');
    check(c.web.min >= 2, 'web.min', 'in prod must be >= 2 (one per AZ survives an AZ loss)');
    check(n.natPerAz, 'network.natPerAz', 'must be true in prod');
    check(!c.schedule.scaleToZero, 'schedule.scaleToZero', 'must be false in prod');
  }
  return c;
}

/** Reads the current stack's config (inside a Pulumi program or under mocks). */
export function loadStackConfig(): StackConfig {
  const cfg = new pulumi.Config('dapanda');
  const stack = pulumi.getStack();
  const region = new pulumi.Config('aws').require('region');
  return validate({
    project: pulumi.getProject(),
    stack,
    region,
    prod: cfg.getBoolean('prod') ?? stack === 'prod',
    owner: cfg.require('owner'),
    costCentre: cfg.require('costCentre'),
    domain: cfg.require('domain'),
    hostedZoneId: cfg.require('hostedZoneId'),
    alarmEmail: cfg.require('alarmEmail'),
    logRetentionDays: cfg.requireNumber('logRetentionDays'),
    network: cfg.requireObject<NetworkConfig>('network'),
    web: cfg.requireObject<WebConfig>('web'),
    worker: cfg.requireObject<WorkerConfig>('worker'),
    scaling: cfg.requireObject<ScalingConfig>('scaling'),
    refresh: cfg.requireObject<RefreshConfig>('refresh'),
    database: cfg.requireObject<DatabaseConfig>('database'),
    cache: cfg.requireObject<CacheConfig>('cache'),
    release: cfg.requireObject<ReleaseConfig>('release'),
    schedule: cfg.requireObject<ScheduleConfig>('schedule'),
    budget: cfg.requireObject<BudgetConfig>('budget'),
    security: cfg.requireObject<{ guardDuty: boolean; cloudTrail: boolean }>('security'),
    github: cfg.requireObject<GithubConfig>('github'),
  });
}
