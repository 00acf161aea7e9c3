/**
 * Reports and the moderator's actions on them. A report names a target (core/report-targets.ts:
 * the owning module says whether it exists, whether the reporter may see it and whose it is); one
 * OPEN report per reporter and target (the unique `open_key`). A moderator's action on a target
 * runs in ONE transaction: the change (through the owning module's API), its audit row, and the
 * resolution of every open report on that target (who, when, what, why).
 */
import { Prisma, transaction, type Db } from '../../core/db/index.js';
import { audit, type AuditActor } from '../../core/audit.js';
import { AppError, notFound } from '../../core/errors.js';
import type { Events } from '../../core/events.js';
import { isReportTargetKind, type ReportTargetKind, type ReportTargets } from '../../core/report-targets.js';
import { accountsApi, roleAtLeast, userRestricted, type AccountsApi } from '../accounts/index.js';
import { biddingApi, type AuctionCancelled } from '../bidding/index.js';
import { catalogApi, type CatalogApi } from '../catalog/index.js';
import { contentModerated, userSanctioned, userWarned } from './events.js';

export const REASONS = ['SCAM', 'PROHIBITED', 'COUNTERFEIT', 'ABUSE', 'SPAM', 'OTHER'] as const;
export type Reason = (typeof REASONS)[number];
export const isReason = (r: unknown): r is Reason =>
  typeof r === 'string' && (REASONS as readonly string[]).includes(r);

export const MAX_TEXT = 1000;
export const MAX_SUSPEND_DAYS = 365;

export const ACTIONS = ['hide', 'restore', 'warn', 'suspend', 'ban', 'dismiss'] as const;
export type Action = (typeof ACTIONS)[number];
export const isAction = (a: unknown): a is Action =>
  typeof a === 'string' && (ACTIONS as readonly string[]).includes(a);
/** Who may take an action: a ban is for good, so it is an admin's decision (a moderator suspends). */
export const ACTION_MIN_ROLE: Record<Action, 'MODERATOR' | 'ADMIN'> = {
  hide: 'MODERATOR',
  restore: 'MODERATOR',
  warn: 'MODERATOR',
  suspend: 'MODERATOR',
  ban: 'ADMIN',
  dismiss: 'MODERATOR',
};

export interface ModerationDeps {
  db: Db;
  events: Events;
  targets: ReportTargets;
  catalog: CatalogApi;
  accounts: AccountsApi;
}

export function moderationDeps(db: Db, events: Events, targets: ReportTargets): ModerationDeps {
  return { db, events, targets, catalog: catalogApi(db), accounts: accountsApi(db) };
}

/** Plain text: line ends normalised, trimmed, control characters other than newlines refused. */
export function cleanText(raw: string, max: number, required: boolean): string {
  const s = raw.replace(/\r\n?/g, '\n').trim();
  const length = [...s].length;
  if (required && !length) throw new AppError(422, 'moderation.errors.textRequired', {}, 'EMPTY');
  if (length > max) throw new AppError(422, 'moderation.errors.textTooLong', { max, length }, 'TOO_LONG');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(s))
    throw new AppError(400, 'guard.badCharacters', {}, 'BAD_CHARACTERS');
  return s;
}

/** A target id from a form or query: a positive 32-bit integer, written plainly ("12", not "012" or "1e3"). */
export function parseTarget(kind: unknown, id: unknown): { kind: ReportTargetKind; id: number } {
  if (!isReportTargetKind(kind)) throw new AppError(400, 'moderation.errors.badTarget', {}, 'BAD_TARGET');
  if (typeof id !== 'string' || !/^[1-9]\d{0,9}$/.test(id) || Number(id) > 2_147_483_647)
    throw new AppError(400, 'moderation.errors.badTarget', {}, 'BAD_TARGET');
  return { kind, id: Number(id) };
}

/** The target as this viewer may see it; 404 when it does not exist, is not theirs to see, or its kind has no resolver. */
export async function resolveTarget(
  deps: ModerationDeps,
  target: { kind: ReportTargetKind; id: number },
  viewerId: number,
  staff: boolean,
) {
  const resolve = deps.targets.resolver(target.kind);
  if (!resolve) throw notFound();
  const info = await resolve(target.id, viewerId, { staff });
  if (!info) throw notFound();
  return info;
}

const openKey = (reporterId: number, kind: ReportTargetKind, id: number) => `${reporterId}:${kind}:${id}`;

export class DuplicateReport extends AppError {
  constructor(readonly reportId: number) {
    super(409, 'moderation.errors.duplicate', {}, 'DUPLICATE_REPORT');
  }
}

/** Files a report. Refused: unknown/unviewable target (404), your own thing (422), an open report of yours on it (409). */
export async function fileReport(
  deps: ModerationDeps,
  reporterId: number,
  input: { kind: ReportTargetKind; targetId: number; reason: string; text: string },
): Promise<{ id: number }> {
  const info = await resolveTarget(deps, { kind: input.kind, id: input.targetId }, reporterId, false);
  if (info.ownerId === reporterId) throw new AppError(422, 'moderation.errors.own', {}, 'OWN_TARGET');
  if (!isReason(input.reason)) throw new AppError(422, 'moderation.errors.reason', {}, 'BAD_REASON');
  const text = cleanText(input.text, MAX_TEXT, input.reason === 'OTHER');
  const key = openKey(reporterId, input.kind, input.targetId);
  try {
    return await deps.db.report.create({
      data: {
        reporterId,
        targetKind: input.kind,
        targetId: input.targetId,
        reason: input.reason,
        text,
        openKey: key,
      },
      select: { id: true },
    });
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      const open = await deps.db.report.findUnique({ where: { openKey: key }, select: { id: true } });
      throw new DuplicateReport(open?.id ?? 0);
    }
    throw err;
  }
}

export async function openReportsCount(db: Db): Promise<number> {
  return db.report.count({ where: { status: 'OPEN' } });
}

/** The open reports grouped by target, the most reported (then the oldest) first. */
export async function openGroups(db: Db, limit = 50) {
  const groups = await db.report.groupBy({
    by: ['targetKind', 'targetId'],
    where: { status: 'OPEN' },
    _count: { _all: true },
    _min: { createdAt: true },
    orderBy: [{ _count: { targetId: 'desc' } }, { _min: { createdAt: 'asc' } }],
    take: limit,
  });
  return groups.map((g) => ({ kind: g.targetKind, id: g.targetId, count: g._count._all, since: g._min.createdAt }));
}

export async function reportsOn(db: Db, kind: ReportTargetKind, id: number, status: 'OPEN' | 'ALL' = 'OPEN') {
  return db.report.findMany({
    where: { targetKind: kind, targetId: id, ...(status === 'OPEN' ? { status: 'OPEN' as const } : {}) },
    orderBy: { id: 'asc' },
    take: 100,
  });
}

export interface ActInput {
  kind: ReportTargetKind;
  targetId: number;
  action: Action;
  note: string;
  /** suspend only: 1..365. */
  days?: number;
}

export interface ActResult {
  action: Action;
  resolved: number[];
  cancelled: AuctionCancelled[];
  /** The user a warn/suspend/ban applied to. */
  userId: number | null;
}

/**
 * A moderator acts on a target: one transaction with the change, its audit row and the resolution
 * of the target's open reports. Hiding a listing whose auction is open cancels it (bidding's
 * forceCancel releases the leader's hold and enqueues the durable `auction.cancelled` naming every
 * bidder); a suspension or ban cancels the user's open auctions the same way, their orders go on.
 */
export async function act(
  deps: ModerationDeps,
  actor: AuditActor & { id: number },
  input: ActInput,
): Promise<ActResult> {
  if (!roleAtLeast(actor.role, ACTION_MIN_ROLE[input.action]))
    throw new AppError(403, 'moderation.errors.adminOnly', {}, 'ADMIN_ONLY');
  const info = await resolveTarget(deps, { kind: input.kind, id: input.targetId }, actor.id, true);
  const note = cleanText(input.note, MAX_TEXT, true);
  const listingAction = input.action === 'hide' || input.action === 'restore';
  const userAction = input.action === 'warn' || input.action === 'suspend' || input.action === 'ban';
  // A listing is hidden through catalog's API; a question or a chat line through the hider its owning
  // module (messages) registered (core/report-targets.ts); a user is not hidden (suspend them).
  const hider = listingAction && input.kind !== 'LISTING' ? deps.targets.hider(input.kind) : undefined;
  if (listingAction && input.kind !== 'LISTING' && !hider)
    throw new AppError(422, 'moderation.errors.notForTarget', {}, 'NOT_FOR_TARGET');
  if (userAction && info.ownerId === null)
    throw new AppError(422, 'moderation.errors.notForTarget', {}, 'NOT_FOR_TARGET');
  if (userAction && info.ownerId === actor.id) throw new AppError(422, 'moderation.errors.self', {}, 'SELF');
  let days = 0;
  if (input.action === 'suspend') {
    days = input.days ?? 0;
    if (!Number.isInteger(days) || days < 1 || days > MAX_SUSPEND_DAYS)
      throw new AppError(422, 'moderation.errors.days', { max: MAX_SUSPEND_DAYS }, 'BAD_DAYS');
  }
  const bidding = biddingApi(deps.db, deps.events);
  /** The listing whose page shows a hidden or restored thing (for the event after the commit). */
  let shownOn: number | null = input.kind === 'LISTING' ? input.targetId : null;

  const res = await transaction(deps.db, async (tx) => {
    const open = await tx.report.findMany({
      where: { targetKind: input.kind, targetId: input.targetId, status: 'OPEN' },
      select: { id: true },
      orderBy: { id: 'asc' },
    });
    const reportIds = open.map((r) => r.id);
    if (input.action === 'dismiss' && !reportIds.length)
      throw new AppError(409, 'moderation.errors.nothingOpen', {}, 'NOTHING_OPEN');
    const cancelled: AuctionCancelled[] = [];
    const target = { kind: input.kind.toLowerCase(), id: input.targetId };

    if (hider) {
      const r = await hider(tx, input.targetId, input.action === 'hide');
      if (!r) throw notFound();
      shownOn = r.listingId ?? null;
      if (!r.changed)
        throw new AppError(
          409,
          input.action === 'hide' ? 'moderation.errors.alreadyHidden' : 'moderation.errors.notHidden',
          {},
          'NO_CHANGE',
        );
      await audit.record(tx, actor, {
        action: `moderation.${target.kind}.${input.action}`,
        target,
        before: r.before,
        after: { ...r.after, reports: reportIds },
        reason: note,
      });
    } else if (listingAction) {
      const catalog = deps.catalog.withTx(tx);
      const before = await catalog.moderationState(input.targetId);
      if (!before) throw notFound();
      // The auction row first, then the listing's (bids lock in that order too).
      if (input.action === 'hide') {
        const c = await bidding.withTx(tx).forceCancel(input.targetId);
        if (c) cancelled.push(c);
      }
      const r = await catalog.setHidden(input.targetId, input.action === 'hide');
      if (!r) throw notFound();
      if (!r.changed)
        throw new AppError(
          409,
          input.action === 'hide' ? 'moderation.errors.alreadyHidden' : 'moderation.errors.notHidden',
          {},
          'NO_CHANGE',
        );
      await audit.record(tx, actor, {
        action: `moderation.listing.${input.action}`,
        target,
        before: { hiddenAt: before.hiddenAt, status: before.status },
        after: {
          hiddenAt: r.listing.hiddenAt,
          status: r.listing.status,
          cancelledAuction: cancelled[0]
            ? { releasedHoldRef: cancelled[0].releasedHoldRef, bidderIds: cancelled[0].bidderIds }
            : null,
          reports: reportIds,
        },
        reason: note,
      });
    } else if (input.action === 'warn') {
      await audit.record(tx, actor, {
        action: 'moderation.user.warn',
        target: { kind: 'user', id: info.ownerId! },
        before: null,
        after: { warned: true, about: target, reports: reportIds },
        reason: note,
      });
      await deps.events.enqueue(
        tx,
        userWarned({ userId: info.ownerId!, targetKind: input.kind, targetId: input.targetId, note }),
      );
    } else if (input.action === 'suspend' || input.action === 'ban') {
      const userId = info.ownerId!;
      const b = bidding.withTx(tx);
      for (const id of await b.openAuctionsOf(userId)) {
        const c = await b.forceCancel(id);
        if (c) cancelled.push(c);
      }
      // accounts writes the action's audit row (before/after of the restriction), with what moderation did.
      const change = await deps.accounts
        .withTx(tx)
        .restrictUser(actor, userId, input.action === 'ban' ? { ban: true } : { suspendDays: days }, note, {
          about: target,
          cancelledAuctions: cancelled.map((c) => ({ auctionId: c.auctionId, releasedHoldRef: c.releasedHoldRef })),
          reports: reportIds,
        });
      // The user is told (inbox and mail, by the notifications module), if and only if this commits.
      await deps.events.enqueue(
        tx,
        userSanctioned({
          userId,
          kind: input.action === 'ban' ? 'banned' : 'suspended',
          until: input.action === 'ban' ? null : change.after.suspendedUntil,
          note,
        }),
      );
    } else {
      await audit.record(tx, actor, {
        action: 'moderation.report.dismiss',
        target,
        before: { open: reportIds },
        after: { status: 'DISMISSED' },
        reason: note,
      });
    }

    if (reportIds.length)
      await tx.report.updateMany({
        where: { id: { in: reportIds }, status: 'OPEN' },
        data: {
          status: input.action === 'dismiss' ? 'DISMISSED' : 'ACTIONED',
          openKey: null,
          resolvedById: actor.id,
          resolvedAt: new Date(),
          resolution: input.action,
          resolutionNote: note,
        },
      });
    return { action: input.action, resolved: reportIds, cancelled, userId: userAction ? info.ownerId : null };
  });

  // Live, after the commit: the pages that show a hidden or restored thing are refreshed (catalog's cache).
  if (listingAction)
    await deps.events.emit(
      contentModerated({
        kind: input.kind,
        targetId: input.targetId,
        hidden: input.action === 'hide',
        listingId: shownOn,
      }),
    );
  // Live, after the commit: accounts ends the user's sessions on this instance (Redis holds them for all).
  if (res.userId !== null && (input.action === 'suspend' || input.action === 'ban')) {
    const r = await deps.accounts.restriction(res.userId);
    await deps.events.emit(
      userRestricted({
        userId: res.userId,
        kind: input.action === 'ban' ? 'banned' : 'suspended',
        until: r?.kind === 'suspended' ? r.until.toISOString() : null,
        reason: note,
      }),
    );
  }
  return res;
}
