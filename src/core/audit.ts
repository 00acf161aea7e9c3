/**
 * The audit log: one append-only row per admin or moderator action (who, in which role, what,
 * on what, before and after, why, from which request and address), written through the SAME
 * transaction client as the action, so the row exists if and only if the action committed.
 * The table refuses UPDATE, DELETE and TRUNCATE for every role (a trigger, migration audit_log).
 *
 * It lives in core, not in a module: every module that acts (accounts suspends and grants roles,
 * catalog hides listings, wallet pays out, moderation resolves reports) records through it, and
 * core is the one place every module may import without an edge in module-graph.cjs (the admin
 * module, which shows the log, is a leaf nobody may import).
 */
import type { FastifyRequest } from 'fastify';
import type { Db, Prisma, Tx } from './db/index.js';

/** Who acted and from where: take it from the request with `actorOf(req)`. */
export interface AuditActor {
  /** null: a command-line tool (npm run admin:create). */
  id: number | null;
  role: string;
  requestId?: string | null;
  ip?: string | null;
}

export interface AuditEntry {
  /** `<module>.<noun>.<verb>`, e.g. `accounts.role.grant`, `catalog.listing.hide`. */
  action: string;
  target: { kind: string; id: string | number };
  before?: unknown;
  after?: unknown;
  reason?: string | null;
}

/** The actor of a request (its user, their role as the guard saw it, the request id and the client address). */
export function actorOf(req: FastifyRequest): AuditActor {
  return { id: req.user?.id ?? null, role: req.user?.role ?? 'ANONYMOUS', requestId: req.id, ip: req.ip };
}

const json = (v: unknown): Prisma.InputJsonValue | undefined =>
  v === undefined || v === null ? undefined : (JSON.parse(JSON.stringify(v)) as Prisma.InputJsonValue);

export const audit = {
  /** Appends one row inside the caller's transaction (it rolls back with the action). */
  async record(tx: Tx, actor: AuditActor, e: AuditEntry): Promise<void> {
    await tx.auditLog.create({
      data: {
        actorId: actor.id,
        actorRole: actor.role.slice(0, 20),
        action: e.action.slice(0, 60),
        targetKind: e.target.kind.slice(0, 30),
        targetId: String(e.target.id).slice(0, 60),
        before: json(e.before),
        after: json(e.after),
        reason: e.reason ? e.reason.slice(0, 1000) : null,
        requestId: actor.requestId ? actor.requestId.slice(0, 64) : null,
        ip: actor.ip ? actor.ip.slice(0, 45) : null,
      },
    });
  },
};

export interface AuditFilters {
  actorId?: number;
  /** Exact action, or a prefix ending in `.` / `*` (`catalog.` / `catalog.*`: all of catalog's). */
  action?: string;
  targetKind?: string;
  targetId?: string;
  /** Inclusive lower bound. */
  from?: Date;
  /** Exclusive upper bound. */
  to?: Date;
  /** Rows with an id below this (the next page). */
  beforeId?: bigint;
}

export interface AuditRow {
  id: bigint;
  actorId: number | null;
  actorRole: string;
  action: string;
  targetKind: string;
  targetId: string;
  before: unknown;
  after: unknown;
  reason: string | null;
  requestId: string | null;
  ip: string | null;
  createdAt: Date;
}

/** Newest first. */
export async function searchAudit(db: Db, f: AuditFilters, limit: number): Promise<AuditRow[]> {
  const action = f.action?.replace(/\*$/, '');
  return db.auditLog.findMany({
    where: {
      ...(f.actorId !== undefined ? { actorId: f.actorId } : {}),
      ...(action ? (action.endsWith('.') ? { action: { startsWith: action } } : { action }) : {}),
      ...(f.targetKind ? { targetKind: f.targetKind } : {}),
      ...(f.targetId ? { targetId: f.targetId } : {}),
      ...(f.from || f.to ? { createdAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
      ...(f.beforeId !== undefined ? { id: { lt: f.beforeId } } : {}),
    },
    orderBy: { id: 'desc' },
    take: limit,
  });
}

/**
 * One CSV cell (RFC 4180 quoting). A cell a spreadsheet would run as a formula (it starts with
 * =, +, -, @, a tab or a carriage return) is prefixed with a quote ' (OWASP's advice on CSV
 * injection): a reason typed by a moderator or a listing title in `before` cannot become
 * `=HYPERLINK(...)` in the admin's spreadsheet.
 */
export function csvCell(v: unknown): string {
  let s =
    v === null || v === undefined
      ? ''
      : v instanceof Date
        ? v.toISOString()
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const AUDIT_CSV_HEADER = [
  'id',
  'created_at',
  'actor_id',
  'actor_role',
  'action',
  'target_kind',
  'target_id',
  'before',
  'after',
  'reason',
  'request_id',
  'ip',
];

export function auditCsvLine(r: AuditRow): string {
  return [
    r.id,
    r.createdAt,
    r.actorId,
    r.actorRole,
    r.action,
    r.targetKind,
    r.targetId,
    r.before,
    r.after,
    r.reason,
    r.requestId,
    r.ip,
  ]
    .map(csvCell)
    .join(',');
}
