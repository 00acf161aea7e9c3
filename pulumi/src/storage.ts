/**
 * Storage: the private photo bucket (block public access, versioning, SSE-KMS, lifecycle to
 * Standard-IA after 90 days) read by browsers only through CloudFront with origin access
 * control; the releases-and-backups bucket (release tarballs, the Node.js tarball, manual dumps);
 * and the logs bucket (ALB access logs, CloudTrail), which uses SSE-S3 because ALB log delivery
 * cannot write with a customer-managed KMS key.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { StackConfig } from './config';
import type { Tagger } from './tags';
import { policy, type Statement } from './iam';

export interface StorageArgs {
  config: StackConfig;
  dataKeyArn: pulumi.Input<string>;
  tag: Tagger;
}

/** AWS's managed CachingOptimized cache policy (long TTLs, compression): photo keys are immutable. */
export const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';

export class Storage extends pulumi.ComponentResource {
  readonly photos: aws.s3.Bucket;
  readonly releases: aws.s3.Bucket;
  readonly logs: aws.s3.Bucket;
  readonly cdn: aws.cloudfront.Distribution;
  /** Done when the logs bucket accepts ALB and CloudTrail deliveries. */
  readonly logsPolicy: aws.s3.BucketPolicy;
  readonly photoBaseUrl: pulumi.Output<string>;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('dapanda:aws:Storage', name, {}, opts);
    const p = { parent: this };
    const { config: c, tag } = args;
    const prefix = `${c.project}-${c.stack}`;
    const account = aws.getCallerIdentityOutput({}, p).accountId;

    const bucket = (id: string, kms: boolean, lifecycle: aws.types.input.s3.BucketLifecycleConfigurationRule[]) => {
      const b = new aws.s3.Bucket(
        `${name}-${id}`,
        { bucketPrefix: `${prefix}-${id}-`, forceDestroy: !c.prod, tags: tag(`${id}-bucket`) },
        p,
      );
      new aws.s3.BucketPublicAccessBlock(
        `${name}-${id}-pab`,
        {
          bucket: b.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        p,
      );
      new aws.s3.BucketOwnershipControls(
        `${name}-${id}-owner`,
        { bucket: b.id, rule: { objectOwnership: 'BucketOwnerEnforced' } },
        p,
      );
      new aws.s3.BucketVersioning(
        `${name}-${id}-versioning`,
        { bucket: b.id, versioningConfiguration: { status: 'Enabled' } },
        p,
      );
      new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-${id}-sse`,
        {
          bucket: b.id,
          rules: [
            kms
              ? {
                  applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: args.dataKeyArn },
                  bucketKeyEnabled: true,
                }
              : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
          ],
        },
        p,
      );
      new aws.s3.BucketLifecycleConfiguration(
        `${name}-${id}-lifecycle`,
        {
          bucket: b.id,
          rules: [
            ...lifecycle,
            {
              id: 'abort-incomplete-uploads',
              status: 'Enabled',
              filter: {},
              abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
            },
          ],
        },
        p,
      );
      return b;
    };

    this.photos = bucket('photos', true, [
      // Photos are written once and viewed mostly in the first days of an auction.
      {
        id: 'photos-to-ia',
        status: 'Enabled',
        filter: { prefix: 'photos/' },
        transitions: [{ days: 90, storageClass: 'STANDARD_IA' }],
      },
      // A deleted or replaced photo stays recoverable for a while, then stops costing.
      { id: 'expire-old-versions', status: 'Enabled', filter: {}, noncurrentVersionExpiration: { noncurrentDays: 30 } },
    ]);
    this.releases = bucket('releases', true, [
      {
        id: 'backups-to-glacier',
        status: 'Enabled',
        filter: { prefix: 'backups/' },
        transitions: [{ days: 30, storageClass: 'GLACIER_IR' }],
        expiration: { days: 365 },
      },
      { id: 'expire-old-versions', status: 'Enabled', filter: {}, noncurrentVersionExpiration: { noncurrentDays: 90 } },
    ]);
    this.logs = bucket('logs', false, [
      {
        id: 'logs-expire',
        status: 'Enabled',
        filter: {},
        transitions: [{ days: 30, storageClass: 'STANDARD_IA' }],
        expiration: { days: c.prod ? 365 : 30 },
      },
      { id: 'expire-old-versions', status: 'Enabled', filter: {}, noncurrentVersionExpiration: { noncurrentDays: 7 } },
    ]);

    const oac = new aws.cloudfront.OriginAccessControl(
      `${name}-photos-oac`,
      {
        name: `${prefix}-photos`,
        description: 'CloudFront reads the photo bucket',
        originAccessControlOriginType: 's3',
        signingBehavior: 'always',
        signingProtocol: 'sigv4',
      },
      p,
    );
    this.cdn = new aws.cloudfront.Distribution(
      `${name}-photos-cdn`,
      {
        enabled: true,
        comment: `${prefix} photos`,
        isIpv6Enabled: true,
        httpVersion: 'http2and3',
        // Asia, Europe and North America edges: shoppers are in Korea, the cheapest class lacks Seoul.
        priceClass: 'PriceClass_200',
        origins: [
          {
            originId: 'photos',
            domainName: this.photos.bucketRegionalDomainName,
            originAccessControlId: oac.id,
            originPath: '',
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: 'photos',
          viewerProtocolPolicy: 'redirect-to-https',
          allowedMethods: ['GET', 'HEAD'],
          cachedMethods: ['GET', 'HEAD'],
          compress: true,
          cachePolicyId: CACHING_OPTIMIZED,
        },
        restrictions: { geoRestriction: { restrictionType: 'none' } },
        viewerCertificate: { cloudfrontDefaultCertificate: true },
        tags: tag('photos-cdn'),
      },
      p,
    );
    this.photoBaseUrl = pulumi.interpolate`https://${this.cdn.domainName}`;

    const denyInsecure = (b: aws.s3.Bucket): Statement => ({
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: ['s3:*'],
      Resource: [b.arn, pulumi.interpolate`${b.arn}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    new aws.s3.BucketPolicy(
      `${name}-photos-policy`,
      {
        bucket: this.photos.id,
        policy: policy([
          {
            Sid: 'CloudFrontReadsPhotos',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: ['s3:GetObject'],
            Resource: [pulumi.interpolate`${this.photos.arn}/photos/*`],
            Condition: { StringEquals: { 'AWS:SourceArn': this.cdn.arn } },
          },
          denyInsecure(this.photos),
        ]),
      },
      p,
    );
    new aws.s3.BucketPolicy(
      `${name}-releases-policy`,
      { bucket: this.releases.id, policy: policy([denyInsecure(this.releases)]) },
      p,
    );
    const elb = aws.elb.getServiceAccountOutput({}, p);
    this.logsPolicy = new aws.s3.BucketPolicy(
      `${name}-logs-policy`,
      {
        bucket: this.logs.id,
        policy: policy([
          // ALB access logs: the regional ELB account writes under alb/.
          {
            Sid: 'AlbAccessLogs',
            Principal: { AWS: elb.arn },
            Action: ['s3:PutObject'],
            Resource: [pulumi.interpolate`${this.logs.arn}/alb/AWSLogs/${account}/*`],
          },
          {
            Sid: 'CloudTrailAcl',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: ['s3:GetBucketAcl'],
            Resource: [this.logs.arn],
          },
          {
            Sid: 'CloudTrailWrite',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: ['s3:PutObject'],
            Resource: [pulumi.interpolate`${this.logs.arn}/cloudtrail/AWSLogs/${account}/*`],
            Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
          },
          denyInsecure(this.logs),
        ]),
      },
      p,
    );
    this.registerOutputs({ photoBaseUrl: this.photoBaseUrl });
  }
}
