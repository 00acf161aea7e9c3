/**
 * Cache: an ElastiCache Redis 7 replication group in the data subnets. Prod runs a primary and a
 * replica in two AZs with automatic failover; dev a single node. TLS in transit, KMS at rest, an
 * AUTH token from Secrets Manager, and `maxmemory-policy noeviction`: Redis holds BullMQ's timers
 * (auction closes), and BullMQ's production guide names noeviction the only safe policy —
 * ElastiCache's default (volatile-lru) would silently drop jobs when memory fills. A full Redis
 * then refuses writes (loud, alarmed at 75 %) instead of losing an auction's close.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { StackConfig } from './config';
import type { Tagger } from './tags';

export interface CacheArgs {
  config: StackConfig;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  kmsKeyArn: pulumi.Input<string>;
  authToken: pulumi.Input<string>;
  logKmsKeyArn: pulumi.Input<string>;
  tag: Tagger;
}

export class Cache extends pulumi.ComponentResource {
  readonly group: aws.elasticache.ReplicationGroup;
  readonly id: string;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:Cache', name, {}, opts);
    const p = { parent: this };
    const { config: c, tag } = args;
    const ha = c.cache.nodes >= 2;
    this.id = `${c.project}-${c.stack}`;

    const subnets = new aws.elasticache.SubnetGroup(
      `${name}-subnets`,
      { name: `${this.id}-data`, subnetIds: args.subnetIds, tags: tag('cache-subnets') },
      p,
    );
    const params = new aws.elasticache.ParameterGroup(
      `${name}-params`,
      {
        name: `${this.id}-redis7`,
        family: 'redis7',
        description: 'DAPANDA: BullMQ needs noeviction',
        parameters: [
          { name: 'maxmemory-policy', value: 'noeviction' },
          // Keyspace events are not used; idle clients are dropped by the server after 5 minutes.
          { name: 'timeout', value: '300' },
        ],
        tags: tag('cache-params'),
      },
      p,
    );
    const slowLog = new aws.cloudwatch.LogGroup(
      `${name}-slowlog`,
      {
        name: `/dapanda/${c.stack}/redis-slowlog`,
        retentionInDays: c.logRetentionDays,
        kmsKeyId: args.logKmsKeyArn,
        tags: tag('redis-slowlog'),
      },
      p,
    );
    this.group = new aws.elasticache.ReplicationGroup(
      `${name}-redis`,
      {
        replicationGroupId: this.id,
        description: `DAPANDA ${c.stack}: sessions, rate limits, BullMQ, pub/sub`,
        engine: 'redis',
        engineVersion: '7.1',
        nodeType: c.cache.nodeType,
        numCacheClusters: c.cache.nodes,
        automaticFailoverEnabled: ha,
        multiAzEnabled: ha,
        port: 6379,
        parameterGroupName: params.name,
        subnetGroupName: subnets.name,
        securityGroupIds: [args.securityGroupId],
        atRestEncryptionEnabled: true,
        kmsKeyId: args.kmsKeyArn,
        transitEncryptionEnabled: true,
        authToken: args.authToken,
        autoMinorVersionUpgrade: true,
        snapshotRetentionLimit: c.cache.snapshotDays,
        snapshotWindow: '17:00-18:00',
        maintenanceWindow: 'sun:20:00-sun:21:00',
        applyImmediately: !c.prod,
        logDeliveryConfigurations: [
          { destination: slowLog.name, destinationType: 'cloudwatch-logs', logFormat: 'json', logType: 'slow-log' },
        ],
        tags: tag('redis'),
      },
      p,
    );
    this.registerOutputs({ endpoint: this.group.primaryEndpointAddress });
  }
}
