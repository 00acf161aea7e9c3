/**
 * The admin shell's navigation: each module that has admin pages adds its entries here while it
 * registers (`app.adminNav.add({ href: '/admin/payouts', labelKey: 'wallet.admin.nav', minRole: 'ADMIN' })`),
 * and the shared layout shows them on every /admin page to staff (views/partials/admin-nav.hbs).
 * In core, so no module imports the admin module (a leaf) to appear in its menu.
 */
import fp from 'fastify-plugin';

export type StaffRole = 'MODERATOR' | 'ADMIN';

export interface AdminNavEntry {
  href: string;
  /** i18n key of the label. */
  labelKey: string;
  /** Who sees it (the route's own guard decides who may open it). */
  minRole: StaffRole;
  /** Lower first (dashboard 0). */
  order?: number;
}

export interface AdminNav {
  add(entry: AdminNavEntry): void;
  /** The entries a user with `role` sees, in order. */
  entriesFor(role: string): AdminNavEntry[];
}

declare module 'fastify' {
  interface FastifyInstance {
    adminNav: AdminNav;
  }
}

export const adminNavPlugin = fp(
  async (app) => {
    const entries: AdminNavEntry[] = [];
    app.decorate('adminNav', {
      add(entry) {
        if (entries.some((e) => e.href === entry.href)) throw new Error(`admin nav already has ${entry.href}`);
        entries.push(entry);
        entries.sort((a, b) => (a.order ?? 50) - (b.order ?? 50) || a.href.localeCompare(b.href));
      },
      entriesFor(role) {
        if (role !== 'ADMIN' && role !== 'MODERATOR') return [];
        return entries.filter((e) => role === 'ADMIN' || e.minRole === 'MODERATOR');
      },
    } satisfies AdminNav);
  },
  { name: 'core-admin-nav' },
);
