/**
 * Monitoring: log groups with a retention, the CloudWatch agent's configuration (memory and disk
 * per instance, aggregated per Auto Scaling group for the memory step scaling; the app's logs; the
 * app's Prometheus counters and gauges), the alarms operators and the instance refresh act on, one
 * SNS topic for all of them, and a dashboard.
 *
 * The CloudWatch agent drops Prometheus histograms, so the auction close lag reaches CloudWatch
 * through the worker's log instead: every close logs `closeLagMs`, and a metric filter turns it into
 * a metric whose p99 is alarmed.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { StackConfig } from './config';
import type { Tagger } from './tags';
import { agentConfig, METRICS_NAMESPACE } from './agent';

export interface MonitoringArgs {
  config: StackConfig;
  opsKeyArn: pulumi.Input<string>;
  albArnSuffix: pulumi.Input<string>;
  targetGroupArnSuffix: pulumi.Input<string>;
  asgNames: { web: string; worker: string };
  dbIdentifier: string;
  cacheMemberIds: string[];
  tag: Tagger;
}

/** The p99 response time the capacity model sizes for (pulumi/CAPACITY.md). */
export const P99_TARGET_S = 0.3;
export const ERROR_RATIO_PERCENT = 2;
export const CLOSE_LAG_P99_MS = 5000;

export class Monitoring extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly logGroups: Record<'web' | 'worker' | 'boot' | 'prometheus', aws.cloudwatch.LogGroup>;
  readonly agentParameter: aws.ssm.Parameter;
  /** The alarm an instance refresh watches to roll itself back. */
  readonly rollbackAlarmName: string;
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:Monitoring', name, {}, opts);
    const p = { parent: this };
    const { config: c, tag } = args;
    const prefix = `${c.project}-${c.stack}`;
    const ns = METRICS_NAMESPACE(c.stack);

    const group = (id: keyof Monitoring['logGroups']) =>
      new aws.cloudwatch.LogGroup(
        `${name}-${id}-log`,
        {
          name: `/dapanda/${c.stack}/${id}`,
          retentionInDays: c.logRetentionDays,
          kmsKeyId: args.opsKeyArn,
          tags: tag(`${id}-log`),
        },
        p,
      );
    this.logGroups = {
      web: group('web'),
      worker: group('worker'),
      boot: group('boot'),
      prometheus: group('prometheus'),
    };

    this.agentParameter = new aws.ssm.Parameter(
      `${name}-agent-config`,
      {
        name: `/dapanda/${c.stack}/cloudwatch-agent`,
        type: 'String',
        tier: 'Standard',
        value: pulumi
          .all([
            this.logGroups.web.name,
            this.logGroups.worker.name,
            this.logGroups.boot.name,
            this.logGroups.prometheus.name,
          ])
          .apply(([web, worker, boot, prometheus]) =>
            JSON.stringify(agentConfig(c.stack, { web, worker, boot, prometheus })),
          ),
        tags: tag('agent-config'),
      },
      p,
    );

    new aws.cloudwatch.LogMetricFilter(
      `${name}-close-lag`,
      {
        name: `${prefix}-auction-close-lag`,
        logGroupName: this.logGroups.worker.name,
        pattern: '{ $.closeLagMs = * }',
        metricTransformation: { name: 'AuctionCloseLagMs', namespace: ns, value: '$.closeLagMs', unit: 'Milliseconds' },
      },
      p,
    );

    this.topic = new aws.sns.Topic(
      `${name}-alarms`,
      { name: `${prefix}-alarms`, kmsMasterKeyId: args.opsKeyArn, tags: tag('alarms') },
      p,
    );
    new aws.sns.TopicSubscription(
      `${name}-alarms-email`,
      { topic: this.topic.arn, protocol: 'email', endpoint: c.alarmEmail },
      p,
    );

    const actions = { alarmActions: [this.topic.arn], okActions: [this.topic.arn] };
    const alarm = (
      id: string,
      a: Omit<aws.cloudwatch.MetricAlarmArgs, 'name' | 'tags' | 'alarmActions' | 'okActions'>,
    ) => {
      const m = new aws.cloudwatch.MetricAlarm(
        `${name}-${id}`,
        { name: `${prefix}-${id}`, treatMissingData: 'notBreaching', ...actions, ...a, tags: tag(id) },
        p,
      );
      this.alarms.push(m);
      return m;
    };
    const lbDims = { LoadBalancer: args.albArnSuffix, TargetGroup: args.targetGroupArnSuffix };

    this.rollbackAlarmName = `${prefix}-alb-5xx-ratio`;
    alarm('alb-5xx-ratio', {
      alarmDescription: `More than ${ERROR_RATIO_PERCENT} % of requests answered 5xx (target or ALB) for 3 minutes; also rolls back an instance refresh`,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: ERROR_RATIO_PERCENT,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      metricQueries: [
        {
          id: 'ratio',
          expression: '100 * (FILL(t5xx, 0) + FILL(e5xx, 0)) / FILL(reqs, 1)',
          label: '5xx %',
          returnData: true,
        },
        {
          id: 't5xx',
          metric: {
            namespace: 'AWS/ApplicationELB',
            metricName: 'HTTPCode_Target_5XX_Count',
            dimensions: { LoadBalancer: args.albArnSuffix },
            period: 60,
            stat: 'Sum',
          },
        },
        {
          id: 'e5xx',
          metric: {
            namespace: 'AWS/ApplicationELB',
            metricName: 'HTTPCode_ELB_5XX_Count',
            dimensions: { LoadBalancer: args.albArnSuffix },
            period: 60,
            stat: 'Sum',
          },
        },
        {
          id: 'reqs',
          metric: {
            namespace: 'AWS/ApplicationELB',
            metricName: 'RequestCount',
            dimensions: { LoadBalancer: args.albArnSuffix },
            period: 60,
            stat: 'Sum',
          },
        },
      ],
    });
    alarm('target-p99', {
      alarmDescription: `Target response time p99 above ${P99_TARGET_S * 1000} ms for 5 minutes (the capacity model's limit)`,
      namespace: 'AWS/ApplicationELB',
      metricName: 'TargetResponseTime',
      dimensions: lbDims,
      extendedStatistic: 'p99',
      period: 60,
      evaluationPeriods: 5,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: P99_TARGET_S,
    });
    alarm('unhealthy-hosts', {
      alarmDescription: 'A web instance fails /readyz',
      namespace: 'AWS/ApplicationELB',
      metricName: 'UnHealthyHostCount',
      dimensions: lbDims,
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 3,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
    });
    const db = { DBInstanceIdentifier: args.dbIdentifier };
    alarm('rds-cpu', {
      namespace: 'AWS/RDS',
      metricName: 'CPUUtilization',
      dimensions: db,
      statistic: 'Average',
      period: 300,
      evaluationPeriods: 2,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 80,
    });
    alarm('rds-free-storage', {
      alarmDescription: 'Less than 10 % of the allocated storage free (autoscaling should have grown it)',
      namespace: 'AWS/RDS',
      metricName: 'FreeStorageSpace',
      dimensions: db,
      statistic: 'Minimum',
      period: 300,
      evaluationPeriods: 1,
      comparisonOperator: 'LessThanThreshold',
      threshold: c.database.allocatedGb * 1024 ** 3 * 0.1,
    });
    alarm('rds-connections', {
      alarmDescription: 'Connections above 80 % of max_connections: instances x DB_POOL_MAX is too high',
      namespace: 'AWS/RDS',
      metricName: 'DatabaseConnections',
      dimensions: db,
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 5,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: Math.floor(c.database.maxConnections * 0.8),
    });
    for (const member of args.cacheMemberIds) {
      alarm(`redis-memory-${member.slice(-3)}`, {
        alarmDescription:
          'Redis memory above 75 %: with noeviction a full Redis refuses writes (sessions, bids, timers)',
        namespace: 'AWS/ElastiCache',
        metricName: 'DatabaseMemoryUsagePercentage',
        dimensions: { CacheClusterId: member },
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 75,
      });
    }
    for (const [role, asg] of Object.entries(args.asgNames)) {
      const max = role === 'web' ? c.web.max : c.worker.max;
      if (max === 0) continue;
      alarm(`${role}-asg-at-max`, {
        alarmDescription: `${role} Auto Scaling group at its maximum (${max}) for 15 minutes: raise max or find the bottleneck`,
        namespace: 'AWS/AutoScaling',
        metricName: 'GroupInServiceInstances',
        dimensions: { AutoScalingGroupName: asg },
        statistic: 'Minimum',
        period: 300,
        evaluationPeriods: 3,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: max,
      });
    }
    alarm('auction-close-lag-p99', {
      alarmDescription: `Auction close lag p99 above ${CLOSE_LAG_P99_MS} ms: auctions end late (queue or worker trouble)`,
      namespace: ns,
      metricName: 'AuctionCloseLagMs',
      extendedStatistic: 'p99',
      period: 300,
      evaluationPeriods: 2,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: CLOSE_LAG_P99_MS,
    });

    new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: prefix,
        dashboardBody: pulumi
          .all([args.albArnSuffix, args.targetGroupArnSuffix])
          .apply(([lb, tg]) =>
            JSON.stringify(dashboard(c.region, ns, lb, tg, args.asgNames, args.dbIdentifier, args.cacheMemberIds)),
          ),
      },
      p,
    );
    this.registerOutputs({ topic: this.topic.arn });
  }
}

function dashboard(
  region: string,
  ns: string,
  lb: string,
  tg: string,
  asg: { web: string; worker: string },
  db: string,
  cache: string[],
) {
  const w = (title: string, metrics: unknown[][], extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, region, metrics, period: 60, ...extra },
  });
  return {
    widgets: [
      w('Requests and 5xx', [
        ['AWS/ApplicationELB', 'RequestCount', 'LoadBalancer', lb, { stat: 'Sum' }],
        ['.', 'HTTPCode_Target_5XX_Count', '.', '.', { stat: 'Sum' }],
        ['.', 'HTTPCode_ELB_5XX_Count', '.', '.', { stat: 'Sum' }],
      ]),
      w('Target response time p50 / p99', [
        ['AWS/ApplicationELB', 'TargetResponseTime', 'LoadBalancer', lb, 'TargetGroup', tg, { stat: 'p50' }],
        ['...', { stat: 'p99' }],
      ]),
      w('Requests per target (scaling metric)', [
        ['AWS/ApplicationELB', 'RequestCountPerTarget', 'TargetGroup', tg, { stat: 'Sum' }],
      ]),
      w('Instances in service', [
        ['AWS/AutoScaling', 'GroupInServiceInstances', 'AutoScalingGroupName', asg.web],
        ['...', asg.worker],
      ]),
      w('CPU % per group', [
        ['AWS/EC2', 'CPUUtilization', 'AutoScalingGroupName', asg.web],
        ['...', asg.worker],
      ]),
      w('Memory % per group (agent)', [
        ['CWAgent', 'mem_used_percent', 'AutoScalingGroupName', asg.web],
        ['...', asg.worker],
      ]),
      w('RDS CPU and connections', [
        ['AWS/RDS', 'CPUUtilization', 'DBInstanceIdentifier', db],
        ['.', 'DatabaseConnections', '.', '.', { yAxis: 'right' }],
      ]),
      w(
        'Redis memory %',
        cache.map((m) => ['AWS/ElastiCache', 'DatabaseMemoryUsagePercentage', 'CacheClusterId', m]),
      ),
      w('Auction close lag p99 (ms)', [[ns, 'AuctionCloseLagMs', { stat: 'p99' }]], { period: 300 }),
      w('WebSocket connections', [[ns, 'dapanda_ws_connections', 'role', 'web', { stat: 'Sum' }]]),
    ],
  };
}
