/**
 * What can be reported to the moderation queue, without the moderation code importing every module's
 * insides: each module that owns a reportable thing registers a resolver while it registers
 * (`app.reportTargets.register('MESSAGE', async (id, viewerId) => …)`), and the reports routes ask
 * the registry whether a target exists and may be reported by that user, and how to show it to a moderator.
 * In core, like admin-nav, so neither side imports the other.
 */
import fp from 'fastify-plugin';
import type { Tx } from './db/index.js';

export const REPORT_TARGET_KINDS = ['LISTING', 'USER', 'QUESTION', 'MESSAGE'] as const;
export type ReportTargetKind = (typeof REPORT_TARGET_KINDS)[number];

export interface ReportTargetInfo {
  /** The account responsible for the thing (the seller, the author, the user itself); null if none. */
  ownerId: number | null;
  /** Plain text a moderator reads in the queue (escaped by the template, cut to a few hundred chars). */
  summary: string;
  /** Same-origin path where a moderator sees the thing in context. */
  href: string;
  /** For kinds whose owner can hide them (registerHider): whether it is hidden now. */
  hidden?: boolean;
}

/** What hiding or restoring changed, for the moderator's audit row (ISO times). */
export interface HideResult {
  changed: boolean;
  /** The listing whose public page shows the thing (a question's), so that page's cache is refreshed. */
  listingId?: number | null;
  before: { hiddenAt: string | null };
  after: { hiddenAt: string | null };
}

/**
 * Hides (`hidden` true) or restores a thing inside the moderator's transaction (its audit row and
 * the reports' resolution commit with it); null when it does not exist. The owning module keeps the
 * thing and decides what "hidden" shows; moderation only calls this.
 */
export type ContentHider = (tx: Tx, id: number, hidden: boolean) => Promise<HideResult | null>;

/**
 * Resolves a target for `viewerId` (the reporter, or a moderator reading the queue): null when it does not
 * exist or the viewer may not see it (a chat message of an order the reporter is not part of) — the
 * report is then refused with 404, as for any id that is not yours.
 */
export type ReportTargetResolver = (
  id: number,
  viewerId: number,
  opts: { staff: boolean },
) => Promise<ReportTargetInfo | null>;

export interface ReportTargets {
  register(kind: ReportTargetKind, resolve: ReportTargetResolver): void;
  /** The resolver for `kind`, or undefined when no module registered one (the kind is then refused). */
  resolver(kind: ReportTargetKind): ReportTargetResolver | undefined;
  kinds(): ReportTargetKind[];
  /** The owning module's hide/restore for `kind` (QUESTION, MESSAGE); listings go through catalog's API. */
  registerHider(kind: ReportTargetKind, hide: ContentHider): void;
  hider(kind: ReportTargetKind): ContentHider | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    reportTargets: ReportTargets;
  }
}

export function isReportTargetKind(value: unknown): value is ReportTargetKind {
  return typeof value === 'string' && (REPORT_TARGET_KINDS as readonly string[]).includes(value);
}

export const reportTargetsPlugin = fp(
  async (app) => {
    const resolvers = new Map<ReportTargetKind, ReportTargetResolver>();
    const hiders = new Map<ReportTargetKind, ContentHider>();
    app.decorate('reportTargets', {
      register(kind, resolve) {
        if (resolvers.has(kind)) throw new Error(`report target ${kind} is already registered`);
        resolvers.set(kind, resolve);
      },
      resolver(kind) {
        return resolvers.get(kind);
      },
      kinds() {
        return [...resolvers.keys()];
      },
      registerHider(kind, hide) {
        if (hiders.has(kind)) throw new Error(`hider for ${kind} is already registered`);
        hiders.set(kind, hide);
      },
      hider(kind) {
        return hiders.get(kind);
      },
    } satisfies ReportTargets);
  },
  { name: 'core-report-targets' },
);
