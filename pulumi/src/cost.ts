/**
 * Cost: a monthly AWS Budget on the stack's cost allocation tag (actual-spend alerts at the
 * configured percentages and one on the forecast), and, where the stack allows it (dev), the
 * night: both Auto Scaling groups go to zero and the database stops, then everything comes back
 * before the working day. Tags on every resource (tags.ts) make Cost Explorer split the bill per
 * stack and cost centre. pulumi/COSTS.md has the estimate per stack.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { StackConfig } from './config';
import type { Tagger } from './tags';
import { policy, trust } from './iam';

export interface CostArgs {
  config: StackConfig;
  groups: Record<'web' | 'worker', aws.autoscaling.Group>;
  dbArn: pulumi.Input<string>;
  dbIdentifier: string;
  boundaryArn: pulumi.Input<string>;
  tag: Tagger;
}

export class Cost extends pulumi.ComponentResource {
  readonly budget: aws.budgets.Budget;

  constructor(name: string, args: CostArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:Cost', name, {}, opts);
    const p = { parent: this };
    const { config: c, tag } = args;
    const prefix = `${c.project}-${c.stack}`;
    const b = c.budget;

    this.budget = new aws.budgets.Budget(
      `${name}-budget`,
      {
        name: `${prefix}-monthly`,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        limitAmount: b.monthlyUsd.toFixed(2),
        limitUnit: 'USD',
        // The `stack` cost allocation tag (activate it once in the Billing console).
        costFilters: [{ name: 'TagKeyValue', values: [`user:stack$${c.stack}`] }],
        notifications: [
          ...b.actualThresholds.map((t) => ({
            comparisonOperator: 'GREATER_THAN',
            notificationType: 'ACTUAL',
            threshold: t,
            thresholdType: 'PERCENTAGE',
            subscriberEmailAddresses: b.emails,
          })),
          {
            comparisonOperator: 'GREATER_THAN',
            notificationType: 'FORECASTED',
            threshold: b.forecastThreshold,
            thresholdType: 'PERCENTAGE',
            subscriberEmailAddresses: b.emails,
          },
        ],
        tags: tag('budget'),
      },
      p,
    );

    const s = c.schedule;
    if (s.scaleToZero) {
      for (const [role, g] of Object.entries(args.groups)) {
        const size = role === 'web' ? c.web : c.worker;
        new aws.autoscaling.Schedule(
          `${name}-${role}-night`,
          {
            scheduledActionName: `${prefix}-${role}-night`,
            autoscalingGroupName: g.name,
            minSize: 0,
            maxSize: 0,
            desiredCapacity: 0,
            recurrence: s.downCron,
            timeZone: s.timezone,
          },
          p,
        );
        new aws.autoscaling.Schedule(
          `${name}-${role}-morning`,
          {
            scheduledActionName: `${prefix}-${role}-morning`,
            autoscalingGroupName: g.name,
            minSize: size.min,
            maxSize: size.max,
            desiredCapacity: size.min,
            recurrence: s.upCron,
            timeZone: s.timezone,
          },
          p,
        );
      }
      // The database: EventBridge Scheduler calls RDS directly (no function to run or pay for).
      const role = new aws.iam.Role(
        `${name}-scheduler-role`,
        {
          name: `${prefix}-db-scheduler`,
          assumeRolePolicy: trust({ Service: 'scheduler.amazonaws.com' }),
          permissionsBoundary: args.boundaryArn,
          tags: tag('db-scheduler'),
        },
        p,
      );
      new aws.iam.RolePolicy(
        `${name}-scheduler-policy`,
        {
          role: role.id,
          name: `${prefix}-db-scheduler`,
          policy: policy([
            { Sid: 'StopStartDb', Action: ['rds:StopDBInstance', 'rds:StartDBInstance'], Resource: [args.dbArn] },
          ]),
        },
        p,
      );
      const group = new aws.scheduler.ScheduleGroup(
        `${name}-schedules`,
        { name: `${prefix}-night`, tags: tag('schedules') },
        p,
      );
      const dbSchedule = (id: string, action: 'stopDBInstance' | 'startDBInstance', expression: string) =>
        new aws.scheduler.Schedule(
          `${name}-db-${id}`,
          {
            name: `${prefix}-db-${id}`,
            groupName: group.name,
            scheduleExpression: expression,
            scheduleExpressionTimezone: s.timezone,
            flexibleTimeWindow: { mode: 'OFF' },
            target: {
              arn: `arn:aws:scheduler:::aws-sdk:rds:${action}`,
              roleArn: role.arn,
              input: JSON.stringify({ DbInstanceIdentifier: args.dbIdentifier }),
            },
          },
          p,
        );
      dbSchedule('stop', 'stopDBInstance', s.dbStopCron);
      dbSchedule('start', 'startDBInstance', s.dbStartCron);
    }
    this.registerOutputs({});
  }
}
