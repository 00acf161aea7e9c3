/** The CrossGuard pack: `pulumi preview --policy-pack pulumi/policy` (needs the Pulumi CLI). */
import { PolicyPack } from '@pulumi/policy';
import { policies } from './policies';

new PolicyPack('dapanda', { policies });
