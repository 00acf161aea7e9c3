/** Small helpers for IAM policy documents, so every policy in the program has the same shape. */
import * as pulumi from '@pulumi/pulumi';

export interface Statement {
  Sid: string;
  Effect?: 'Allow' | 'Deny';
  Action: string[];
  Resource: pulumi.Input<string> | pulumi.Input<string>[];
  Condition?: Record<string, Record<string, pulumi.Input<string | string[] | boolean>>>;
  Principal?: unknown;
}

export function policy(statements: Statement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: '2012-10-17', Statement: statements.map((s) => ({ Effect: 'Allow', ...s })) });
}

/** A trust policy: who may assume a role (Principal, no Resource), optionally under conditions. */
export function trust(
  principal: Record<string, unknown>,
  action = 'sts:AssumeRole',
  condition?: Statement['Condition'],
): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: action, Principal: principal, ...(condition ? { Condition: condition } : {}) },
    ],
  });
}

/**
 * Actions that accept no narrower resource than "*" (AWS's service authorisation reference lists
 * no resource type for them). The tests and the policy pack allow Resource "*" only for these.
 */
/** Session Manager and Run Command channels of the SSM agent (AmazonSSMManagedInstanceCore uses these). */
export const SSM_CHANNEL_ACTIONS = [
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
];
/** What the CloudWatch agent calls with no resource to name. */
export const AGENT_ACTIONS = ['ec2:DescribeTags', 'ec2:DescribeVolumes'];

export const RESOURCELESS_ACTIONS = new Set([
  'cloudwatch:PutMetricData',
  ...AGENT_ACTIONS,
  'ec2:DescribeInstances',
  ...SSM_CHANNEL_ACTIONS,
  'kms:CreateKey',
  'kms:ListAliases',
  'kms:ListKeys',
  'sts:GetCallerIdentity',
]);
