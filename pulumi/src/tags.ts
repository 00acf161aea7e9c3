/**
 * Cost allocation tags. Every taggable resource gets them explicitly (the provider's defaultTags
 * in Pulumi.<stack>.yaml add them again, but a resource's own tags are what tests and the policy
 * pack can see before anything exists).
 */
import type { StackConfig } from './config';

export const REQUIRED_TAGS = ['project', 'stack', 'owner', 'cost-centre'] as const;

export type Tags = Record<string, string>;

export function baseTags(c: Pick<StackConfig, 'project' | 'stack' | 'owner' | 'costCentre'>): Tags {
  return { project: c.project, stack: c.stack, owner: c.owner, 'cost-centre': c.costCentre };
}

/** A tagger bound to one stack: `tag('web')` -> base tags + Name + component. */
export function tagger(c: Pick<StackConfig, 'project' | 'stack' | 'owner' | 'costCentre'>) {
  const base = baseTags(c);
  return (name: string, extra: Tags = {}): Tags => ({ ...base, Name: `${c.project}-${c.stack}-${name}`, ...extra });
}

export type Tagger = ReturnType<typeof tagger>;

/** The ASG form of tags (a list with propagate-at-launch). */
export function asgTags(tags: Tags) {
  return Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: true }));
}
