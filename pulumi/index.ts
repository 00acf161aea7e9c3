/** Entry of `pulumi up`: builds the stack from Pulumi.<stack>.yaml and exports what the deploy workflow and operators read. */
import { build } from './src/stack';

const out = build();
export const url = out.url;
export const albDnsName = out.albDnsName;
export const photoBaseUrl = out.photoBaseUrl;
export const releasesBucket = out.releasesBucket;
export const photosBucket = out.photosBucket;
export const webAsg = out.webAsg;
export const workerAsg = out.workerAsg;
export const migrateDocument = out.migrateDocument;
export const deployRoleArn = out.deployRoleArn;
export const alarmTopicArn = out.alarmTopicArn;
export const dbEndpoint = out.dbEndpoint;
export const redisEndpoint = out.redisEndpoint;
