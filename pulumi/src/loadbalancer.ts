/**
 * LoadBalancer: the only public entry. An ALB in the public subnets with HTTPS (an ACM
 * certificate for the stack's domain, validated in its Route 53 zone, TLS 1.2+), HTTP redirected
 * to HTTPS, access logs to S3, and AWS WAF in front: AWS's common, known-bad-inputs and SQL
 * injection rule sets plus rate-based rules on log-in/sign-up, on bids and on everything.
 *
 * Timings follow the app: the target group drains for 30 s (close-with-grace's delay in
 * src/server.ts: in-flight requests finish, then WebSockets are closed and clients reconnect to
 * another instance); the idle timeout (120 s) is well above the app's WebSocket ping (25 s), so a
 * quiet auction page keeps its socket; health checks ask /readyz, which turns 503 while draining.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { StackConfig } from './config';
import type { Tagger } from './tags';
import { APP_PORT } from './security';

export const DEREGISTRATION_DELAY_S = 30;
export const IDLE_TIMEOUT_S = 120;
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

/** Per client IP, per 5 minutes. Mobile carriers put many shoppers behind one address: generous. */
export const RATE_LIMITS = { auth: 100, bids: 1500, all: 6000 } as const;
export const MANAGED_RULE_SETS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
] as const;

export interface LoadBalancerArgs {
  config: StackConfig;
  vpcId: pulumi.Input<string>;
  publicSubnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  logsBucket: pulumi.Input<string>;
  logsReady: pulumi.Resource;
  tag: Tagger;
}

export class LoadBalancer extends pulumi.ComponentResource {
  readonly alb: aws.lb.LoadBalancer;
  readonly targetGroup: aws.lb.TargetGroup;
  readonly webAcl: aws.wafv2.WebAcl;
  readonly url: string;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:LoadBalancer', name, {}, opts);
    const p = { parent: this };
    const { config: c, tag } = args;
    const prefix = `${c.project}-${c.stack}`;
    this.url = `https://${c.domain}`;

    const cert = new aws.acm.Certificate(
      `${name}-cert`,
      { domainName: c.domain, validationMethod: 'DNS', tags: tag('cert') },
      { parent: this },
    );
    const validation = cert.domainValidationOptions.apply((o) => o[0]);
    const record = new aws.route53.Record(
      `${name}-cert-validation`,
      {
        zoneId: c.hostedZoneId,
        name: validation.resourceRecordName,
        type: validation.resourceRecordType,
        records: [validation.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
      },
      p,
    );
    const validated = new aws.acm.CertificateValidation(
      `${name}-cert-validated`,
      { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] },
      p,
    );

    this.alb = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        name: `${prefix}-alb`,
        loadBalancerType: 'application',
        internal: false,
        subnets: args.publicSubnetIds,
        securityGroups: [args.securityGroupId],
        idleTimeout: IDLE_TIMEOUT_S,
        dropInvalidHeaderFields: true,
        enableDeletionProtection: c.prod,
        accessLogs: { bucket: args.logsBucket, prefix: 'alb', enabled: true },
        tags: tag('alb'),
      },
      { parent: this, dependsOn: [args.logsReady] },
    );
    this.targetGroup = new aws.lb.TargetGroup(
      `${name}-web-tg`,
      {
        name: `${prefix}-web`,
        port: APP_PORT,
        protocol: 'HTTP',
        targetType: 'instance',
        vpcId: args.vpcId,
        deregistrationDelay: DEREGISTRATION_DELAY_S,
        healthCheck: {
          path: '/readyz',
          port: 'traffic-port',
          protocol: 'HTTP',
          matcher: '200',
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        },
        tags: tag('web-tg'),
      },
      p,
    );
    new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: this.alb.arn,
        port: 80,
        protocol: 'HTTP',
        defaultActions: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }],
        tags: tag('http'),
      },
      p,
    );
    new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: this.alb.arn,
        port: 443,
        protocol: 'HTTPS',
        sslPolicy: TLS_POLICY,
        certificateArn: validated.certificateArn,
        defaultActions: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
        tags: tag('https'),
      },
      p,
    );
    new aws.route53.Record(
      `${name}-dns`,
      {
        zoneId: c.hostedZoneId,
        name: c.domain,
        type: 'A',
        aliases: [{ name: this.alb.dnsName, zoneId: this.alb.zoneId, evaluateTargetHealth: true }],
      },
      p,
    );

    const visibility = (metric: string) => ({
      cloudwatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `${prefix}-${metric}`,
    });
    const post = {
      byteMatchStatement: {
        searchString: 'POST',
        positionalConstraint: 'EXACTLY',
        fieldToMatch: { method: {} },
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    };
    const path = (regex: string) => ({
      regexMatchStatement: {
        regexString: regex,
        fieldToMatch: { uriPath: {} },
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    });
    const rate = (
      ruleName: string,
      priority: number,
      limit: number,
      scopeDown?: aws.types.input.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatement,
    ) => ({
      name: ruleName,
      priority,
      action: { block: {} },
      statement: {
        rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: 300, scopeDownStatement: scopeDown },
      },
      visibilityConfig: visibility(ruleName),
    });
    const managed = (set: string, priority: number, countOnly: string[] = []) => ({
      name: set,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name: set,
          ruleActionOverrides: countOnly.map((r) => ({ name: r, actionToUse: { count: {} } })),
        },
      },
      visibilityConfig: visibility(set),
    });
    this.webAcl = new aws.wafv2.WebAcl(
      `${name}-waf`,
      {
        name: `${prefix}-web`,
        scope: 'REGIONAL',
        defaultAction: { allow: {} },
        rules: [
          rate('rate-auth', 0, RATE_LIMITS.auth, { andStatement: { statements: [post, path('^/(login|signup)$')] } }),
          rate('rate-bids', 1, RATE_LIMITS.bids, {
            andStatement: { statements: [post, path('^/items/[0-9]+/(bids|buy-now)$')] },
          }),
          rate('rate-all', 2, RATE_LIMITS.all),
          // Photo uploads are multipart bodies of up to 10 MB: the 8 KB body-size rule only counts.
          managed('AWSManagedRulesCommonRuleSet', 10, ['SizeRestrictions_BODY']),
          managed('AWSManagedRulesKnownBadInputsRuleSet', 11),
          managed('AWSManagedRulesSQLiRuleSet', 12),
        ],
        visibilityConfig: visibility('web-acl'),
        tags: tag('waf'),
      },
      p,
    );
    new aws.wafv2.WebAclAssociation(`${name}-waf-alb`, { resourceArn: this.alb.arn, webAclArn: this.webAcl.arn }, p);
    this.registerOutputs({ albDns: this.alb.dnsName, url: this.url });
  }
}
