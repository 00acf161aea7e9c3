/**
 * WebCluster: two Auto Scaling groups from launch templates of the same Debian 12 AMI.
 * - web (ROLE=web) behind the ALB, ELB health checks on /readyz, min 2 in prod (one per AZ
 *   survives an AZ loss); scales by target tracking on average CPU (50 %) and on
 *   ALBRequestCountPerTarget (the capacity model's value, pulumi/CAPACITY.md), and by steps on
 *   the CloudWatch agent's memory metric.
 * - worker (ROLE=worker: BullMQ timers, outbox relay, cleanup) with mixed instances: an
 *   on-demand base plus a Spot share from config, capacity rebalancing, the same CPU and memory
 *   scaling. It also runs each release's database migration step.
 * Instances have no public IP and no SSH key (Session Manager only), IMDSv2 only with a hop
 * limit of 1 (a container or proxy on the host cannot reach the role's credentials), encrypted
 * gp3 roots. A release is a new launch template version; the groups replace their instances by a
 * rolling instance refresh with checkpoints that rolls itself back when the 5xx alarm fires.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { StackConfig } from './config';
import { asgTags, type Tagger } from './tags';
import { renderUserData, type UserDataOptions } from './userdata';

/** Debian's own account publishes the official Debian AMIs. */
export const DEBIAN_OWNER = '136693071363';
export const DEBIAN_AMI_NAME = 'debian-12-amd64-*';
export const ASG_METRICS: aws.autoscaling.Metric[] = [
  'GroupMinSize',
  'GroupMaxSize',
  'GroupDesiredCapacity',
  'GroupInServiceInstances',
  'GroupPendingInstances',
  'GroupTerminatingInstances',
  'GroupTotalInstances',
];

export type Role = 'web' | 'worker';

export interface WebClusterArgs {
  config: StackConfig;
  subnetIds: pulumi.Input<string>[];
  securityGroups: Record<Role, pulumi.Input<string>>;
  instanceProfiles: Record<Role, pulumi.Input<string>>;
  targetGroupArn: pulumi.Input<string>;
  /** "<alb arn suffix>/<target group arn suffix>" for ALBRequestCountPerTarget. */
  requestCountLabel: pulumi.Input<string>;
  rollbackAlarmName: string;
  /** Everything the user data needs except the role (Outputs resolved here). */
  userData: Record<Role, pulumi.Input<Omit<UserDataOptions, 'role'>>>;
  tag: Tagger;
}

export const asgName = (c: Pick<StackConfig, 'project' | 'stack'>, role: Role) => `${c.project}-${c.stack}-${role}`;

export class WebCluster extends pulumi.ComponentResource {
  readonly groups: Record<Role, aws.autoscaling.Group>;
  readonly launchTemplates: Record<Role, aws.ec2.LaunchTemplate>;
  readonly migrateDocument: aws.ssm.Document;

  constructor(name: string, args: WebClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:WebCluster', name, {}, opts);
    const p = { parent: this };
    const { config: c, tag } = args;
    const prefix = `${c.project}-${c.stack}`;
    const ami = aws.ec2.getAmiOutput(
      {
        owners: [DEBIAN_OWNER],
        mostRecent: true,
        filters: [
          { name: 'name', values: [DEBIAN_AMI_NAME] },
          { name: 'architecture', values: ['x86_64'] },
          { name: 'root-device-type', values: ['ebs'] },
        ],
      },
      p,
    );

    const template = (role: Role, instanceType: string) =>
      new aws.ec2.LaunchTemplate(
        `${name}-${role}-lt`,
        {
          name: `${prefix}-${role}`,
          description: `DAPANDA ${role}: release ${c.release.id}`,
          imageId: ami.id,
          instanceType,
          updateDefaultVersion: true,
          iamInstanceProfile: { name: args.instanceProfiles[role] },
          networkInterfaces: [
            {
              associatePublicIpAddress: 'false',
              securityGroups: [args.securityGroups[role]],
              deleteOnTermination: 'true',
            },
          ],
          metadataOptions: {
            httpEndpoint: 'enabled',
            httpTokens: 'required',
            httpPutResponseHopLimit: 1,
            instanceMetadataTags: 'disabled',
          },
          blockDeviceMappings: [
            {
              deviceName: '/dev/xvda',
              ebs: { volumeType: 'gp3', volumeSize: 16, encrypted: 'true', deleteOnTermination: 'true' },
            },
          ],
          monitoring: { enabled: c.prod },
          userData: pulumi
            .output(args.userData[role])
            .apply((u) => Buffer.from(renderUserData({ ...u, role })).toString('base64')),
          tagSpecifications: [
            { resourceType: 'instance', tags: tag(role, { role }) },
            { resourceType: 'volume', tags: tag(`${role}-root`, { role }) },
          ],
          tags: tag(`${role}-lt`),
        },
        p,
      );
    this.launchTemplates = {
      web: template('web', c.web.instanceType),
      worker: template('worker', c.worker.instanceTypes[0]),
    };

    const refresh = {
      strategy: 'Rolling',
      preferences: {
        minHealthyPercentage: c.refresh.minHealthyPercent,
        maxHealthyPercentage: 200,
        instanceWarmup: String(c.scaling.warmupSeconds),
        checkpointPercentages: c.refresh.checkpoints,
        checkpointDelay: String(c.refresh.checkpointDelaySeconds),
        skipMatching: true,
        autoRollback: true,
        alarmSpecification: { alarms: [args.rollbackAlarmName] },
        scaleInProtectedInstances: 'Refresh',
        standbyInstances: 'Terminate',
      },
    };
    const ltSpec = (role: Role) => ({
      id: this.launchTemplates[role].id,
      version: pulumi.interpolate`${this.launchTemplates[role].latestVersion}`,
    });
    // Scaling owns the desired capacity; `pulumi up` sets only the bounds.
    const scaled = { parent: this, ignoreChanges: ['desiredCapacity'] };

    const web = new aws.autoscaling.Group(
      `${name}-web-asg`,
      {
        name: asgName(c, 'web'),
        vpcZoneIdentifiers: args.subnetIds,
        minSize: c.web.min,
        maxSize: c.web.max,
        desiredCapacity: c.web.min,
        launchTemplate: ltSpec('web'),
        targetGroupArns: [args.targetGroupArn],
        healthCheckType: 'ELB',
        healthCheckGracePeriod: 600,
        defaultInstanceWarmup: c.scaling.warmupSeconds,
        enabledMetrics: ASG_METRICS,
        metricsGranularity: '1Minute',
        instanceRefresh: refresh,
        tags: asgTags(tag('web', { role: 'web' })),
      },
      scaled,
    );
    const spot = c.worker.spotPercent;
    const worker = new aws.autoscaling.Group(
      `${name}-worker-asg`,
      {
        name: asgName(c, 'worker'),
        vpcZoneIdentifiers: args.subnetIds,
        minSize: c.worker.min,
        maxSize: c.worker.max,
        desiredCapacity: c.worker.min,
        capacityRebalance: spot > 0,
        mixedInstancesPolicy: {
          instancesDistribution: {
            onDemandBaseCapacity: c.worker.onDemandBase,
            onDemandPercentageAboveBaseCapacity: 100 - spot,
            spotAllocationStrategy: 'price-capacity-optimized',
          },
          launchTemplate: {
            launchTemplateSpecification: {
              launchTemplateId: this.launchTemplates.worker.id,
              version: ltSpec('worker').version,
            },
            overrides: c.worker.instanceTypes.map((t) => ({ instanceType: t })),
          },
        },
        healthCheckType: 'EC2',
        healthCheckGracePeriod: 600,
        defaultInstanceWarmup: c.scaling.warmupSeconds,
        enabledMetrics: ASG_METRICS,
        metricsGranularity: '1Minute',
        instanceRefresh: refresh,
        tags: asgTags(tag('worker', { role: 'worker' })),
      },
      scaled,
    );
    this.groups = { web, worker };

    for (const role of ['web', 'worker'] as const) {
      const g = this.groups[role];
      new aws.autoscaling.Policy(
        `${name}-${role}-cpu`,
        {
          name: `${prefix}-${role}-cpu`,
          autoscalingGroupName: g.name,
          policyType: 'TargetTrackingScaling',
          estimatedInstanceWarmup: c.scaling.warmupSeconds,
          targetTrackingConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType: 'ASGAverageCPUUtilization' },
            targetValue: c.scaling.cpuTargetPercent,
          },
        },
        p,
      );
      // Memory: scale-out steps only. Scale-in stays with target tracking, which removes capacity
      // only when every target-tracking metric is under its target (AWS's rule for several policies).
      const step = new aws.autoscaling.Policy(
        `${name}-${role}-memory`,
        {
          name: `${prefix}-${role}-memory`,
          autoscalingGroupName: g.name,
          policyType: 'StepScaling',
          adjustmentType: 'ChangeInCapacity',
          metricAggregationType: 'Average',
          estimatedInstanceWarmup: c.scaling.warmupSeconds,
          stepAdjustments: [
            {
              metricIntervalLowerBound: '0',
              metricIntervalUpperBound: String(c.scaling.memoryCriticalPercent - c.scaling.memoryHighPercent),
              scalingAdjustment: 1,
            },
            {
              metricIntervalLowerBound: String(c.scaling.memoryCriticalPercent - c.scaling.memoryHighPercent),
              scalingAdjustment: 2,
            },
          ],
        },
        p,
      );
      new aws.cloudwatch.MetricAlarm(
        `${name}-${role}-memory-high`,
        {
          name: `${prefix}-${role}-memory-high`,
          alarmDescription: `Average memory of the ${role} group above ${c.scaling.memoryHighPercent} % (CloudWatch agent): add instances`,
          namespace: 'CWAgent',
          metricName: 'mem_used_percent',
          dimensions: { AutoScalingGroupName: g.name },
          statistic: 'Average',
          period: 60,
          evaluationPeriods: 2,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          threshold: c.scaling.memoryHighPercent,
          treatMissingData: 'notBreaching',
          alarmActions: [step.arn],
          tags: tag(`${role}-memory-high`),
        },
        p,
      );
    }
    new aws.autoscaling.Policy(
      `${name}-web-requests`,
      {
        name: `${prefix}-web-requests`,
        autoscalingGroupName: web.name,
        policyType: 'TargetTrackingScaling',
        estimatedInstanceWarmup: c.scaling.warmupSeconds,
        targetTrackingConfiguration: {
          predefinedMetricSpecification: {
            predefinedMetricType: 'ALBRequestCountPerTarget',
            resourceLabel: args.requestCountLabel,
          },
          targetValue: c.scaling.requestsPerTargetPerMinute,
        },
      },
      p,
    );

    const ev = c.web.evening;
    if (ev) {
      // Auction endings cluster in the evening and their times are known: the floor rises before them.
      new aws.autoscaling.Schedule(
        `${name}-web-evening`,
        {
          scheduledActionName: `${prefix}-web-evening`,
          autoscalingGroupName: web.name,
          minSize: ev.min,
          maxSize: c.web.max,
          recurrence: ev.fromCron,
          timeZone: c.schedule.timezone,
        },
        p,
      );
      new aws.autoscaling.Schedule(
        `${name}-web-evening-end`,
        {
          scheduledActionName: `${prefix}-web-evening-end`,
          autoscalingGroupName: web.name,
          minSize: c.web.min,
          maxSize: c.web.max,
          recurrence: ev.toCron,
          timeZone: c.schedule.timezone,
        },
        p,
      );
    }

    // The migration step of a release on one running worker, before the refresh that rolls it out.
    this.migrateDocument = new aws.ssm.Document(
      `${name}-migrate`,
      {
        name: `${prefix}-migrate`,
        documentType: 'Command',
        documentFormat: 'JSON',
        content: JSON.stringify({
          schemaVersion: '2.2',
          description: "DAPANDA: run a release's database migration step on a worker",
          parameters: {
            release: {
              type: 'String',
              description: 'release id (dapanda-<version>-<sha>)',
              allowedPattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$',
            },
          },
          mainSteps: [
            {
              action: 'aws:runShellScript',
              name: 'migrate',
              inputs: { timeoutSeconds: '900', runCommand: ['/usr/local/sbin/dapanda-cloud migrate "{{ release }}"'] },
            },
          ],
        }),
        tags: tag('migrate'),
      },
      p,
    );
    this.registerOutputs({ web: web.name, worker: worker.name });
  }
}
