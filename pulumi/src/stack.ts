/**
 * The whole stack: one component per concern, wired by the few outputs each needs. `build()` is
 * what index.ts runs under `pulumi up`, and what the tests run under mocks.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { loadStackConfig, type StackConfig } from './config';
import { tagger } from './tags';
import { policy } from './iam';
import { Network } from './network';
import { Security } from './security';
import { Storage } from './storage';
import { Database, DB_NAME, MASTER_USER } from './database';
import { Cache } from './cache';
import { LoadBalancer } from './loadbalancer';
import { Monitoring } from './monitoring';
import { WebCluster, asgName } from './webcluster';
import { Cost } from './cost';
import { Delivery } from './delivery';

export function build(config: StackConfig = loadStackConfig()) {
  const c = config;
  const tag = tagger(c);
  const prefix = `${c.project}-${c.stack}`;
  const account = aws.getCallerIdentityOutput({}).accountId;
  const asgNames = { web: asgName(c, 'web'), worker: asgName(c, 'worker') };

  const delivery = new Delivery(`${prefix}-delivery`, { config: c, tag });
  const network = new Network(`${prefix}-net`, { config: c.network, region: c.region, tag });
  const security = new Security(`${prefix}-sec`, {
    config: c,
    vpcId: network.vpc.id,
    endpointSecurityGroupId: network.endpointSecurityGroup.id,
    tag,
  });
  const storage = new Storage(`${prefix}-storage`, { config: c, dataKeyArn: security.dataKey.arn, tag });

  // The data key's policy: the account administers it; CloudFront may decrypt photos for its own distribution.
  new aws.kms.KeyPolicy(`${prefix}-data-key-policy`, {
    keyId: security.dataKey.id,
    policy: policy([
      {
        Sid: 'AccountAdministers',
        Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
        Action: ['kms:*'],
        Resource: '*',
      },
      {
        Sid: 'CloudFrontReadsPhotos',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: ['kms:Decrypt'],
        Resource: '*',
        Condition: { StringEquals: { 'AWS:SourceArn': storage.cdn.arn } },
      },
    ]),
  });
  // What the app subnets may reach through the S3 gateway endpoint: this stack's buckets and AWS's agent buckets.
  new aws.ec2.VpcEndpointPolicy(`${prefix}-s3-endpoint-policy`, {
    vpcEndpointId: network.s3Endpoint.id,
    policy: policy([
      {
        Sid: 'StackBuckets',
        Principal: '*',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'],
        Resource: [
          storage.photos.arn,
          pulumi.interpolate`${storage.photos.arn}/*`,
          storage.releases.arn,
          pulumi.interpolate`${storage.releases.arn}/*`,
        ],
      },
      {
        Sid: 'AwsAgentBuckets',
        Principal: '*',
        Action: ['s3:GetObject'],
        Resource: [
          `arn:aws:s3:::amazon-ssm-${c.region}/*`,
          `arn:aws:s3:::amazon-ssm-packages-${c.region}/*`,
          `arn:aws:s3:::aws-ssm-${c.region}/*`,
          `arn:aws:s3:::aws-ssm-document-attachments-${c.region}/*`,
          `arn:aws:s3:::${c.region}-birdwatcher-prod/*`,
          `arn:aws:s3:::amazoncloudwatch-agent-${c.region}/*`,
        ],
      },
    ]),
  });
  security.auditTrail(storage.logs, storage.logsPolicy);

  const database = new Database(`${prefix}-db`, {
    config: c,
    subnetIds: network.dataSubnetIds,
    securityGroupId: security.dbSg.id,
    kmsKeyArn: security.dataKey.arn,
    tag,
  });
  const cache = new Cache(`${prefix}-cache`, {
    config: c,
    subnetIds: network.dataSubnetIds,
    securityGroupId: security.redisSg.id,
    kmsKeyArn: security.dataKey.arn,
    authToken: security.redisAuthToken,
    logKmsKeyArn: security.opsKey.arn,
    tag,
  });
  const lb = new LoadBalancer(`${prefix}-lb`, {
    config: c,
    vpcId: network.vpc.id,
    publicSubnetIds: network.publicSubnetIds,
    securityGroupId: security.albSg.id,
    logsBucket: storage.logs.bucket,
    logsReady: storage.logsPolicy,
    tag,
  });
  const cacheMemberIds = [...Array(c.cache.nodes).keys()].map((i) => `${cache.id}-${String(i + 1).padStart(3, '0')}`);
  const monitoring = new Monitoring(`${prefix}-mon`, {
    config: c,
    opsKeyArn: security.opsKey.arn,
    albArnSuffix: lb.alb.arnSuffix,
    targetGroupArnSuffix: lb.targetGroup.arnSuffix,
    asgNames,
    dbIdentifier: database.identifier,
    cacheMemberIds,
    tag,
  });
  const roles = security.instanceRoles({
    releasesBucketArn: storage.releases.arn,
    photosBucketArn: storage.photos.arn,
    logGroupArns: Object.values(monitoring.logGroups).map((g) => g.arn),
    agentConfigParameterArn: monitoring.agentParameter.arn,
    dbMasterSecretArn: database.masterSecretArn,
    boundaryArn: delivery.boundary.arn,
    asgNames,
  });

  const userData = (role: 'web' | 'worker') =>
    pulumi
      .all([
        storage.releases.bucket,
        database.instance.address,
        cache.group.primaryEndpointAddress,
        storage.photos.bucket,
        storage.photoBaseUrl,
        monitoring.agentParameter.name,
        security.secrets.session.arn,
        security.secrets.dbApp.arn,
        security.secrets.redis.arn,
        security.secrets.dbMigrator.arn,
        database.masterSecretArn,
      ])
      .apply(
        ([
          releasesBucket,
          dbHost,
          redisHost,
          photosBucket,
          photoBaseUrl,
          agentConfigParameter,
          session,
          dbApp,
          redis,
          dbMigrator,
          dbMaster,
        ]) => ({
          stack: c.stack,
          region: c.region,
          domain: c.domain,
          vpcCidr: c.network.cidr,
          releasesBucket,
          releaseId: c.release.id,
          nodeTarball: c.release.nodeTarball,
          dbHost,
          dbName: DB_NAME,
          dbMasterUser: MASTER_USER,
          redisHost,
          photosBucket,
          photoBaseUrl,
          agentConfigParameter,
          asgName: asgNames[role],
          // The web role reads neither the migrator's nor the master's password.
          secrets: role === 'worker' ? { session, dbApp, redis, dbMigrator, dbMaster } : { session, dbApp, redis },
        }),
      );

  const cluster = new WebCluster(`${prefix}-app`, {
    config: c,
    subnetIds: network.appSubnetIds,
    securityGroups: { web: security.webSg.id, worker: security.workerSg.id },
    instanceProfiles: { web: roles.web.profile.name, worker: roles.worker.profile.name },
    targetGroupArn: lb.targetGroup.arn,
    requestCountLabel: pulumi.interpolate`${lb.alb.arnSuffix}/${lb.targetGroup.arnSuffix}`,
    rollbackAlarmName: monitoring.rollbackAlarmName,
    userData: { web: userData('web'), worker: userData('worker') },
    tag,
  });
  new Cost(`${prefix}-cost`, {
    config: c,
    groups: cluster.groups,
    dbArn: database.instance.arn,
    dbIdentifier: database.identifier,
    boundaryArn: delivery.boundary.arn,
    tag,
  });
  delivery.grant({
    releasesBucketArn: storage.releases.arn,
    migrateDocumentArn: pulumi.interpolate`arn:aws:ssm:${c.region}:${account}:document/${cluster.migrateDocument.name}`,
    workerAsgName: asgNames.worker,
  });

  return {
    url: lb.url,
    albDnsName: lb.alb.dnsName,
    photoBaseUrl: storage.photoBaseUrl,
    releasesBucket: storage.releases.bucket,
    photosBucket: storage.photos.bucket,
    webAsg: cluster.groups.web.name,
    workerAsg: cluster.groups.worker.name,
    migrateDocument: cluster.migrateDocument.name,
    deployRoleArn: delivery.deployRole.arn,
    alarmTopicArn: monitoring.topic.arn,
    dbEndpoint: database.instance.address,
    redisEndpoint: cache.group.primaryEndpointAddress,
  };
}
