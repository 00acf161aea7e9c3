/** Admins grant and revoke roles (/admin/roles); every change is one audit row (roles.ts). */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { flash } from '../../core/auth.js';
import { actorOf } from '../../core/audit.js';
import { AppError } from '../../core/errors.js';
import { goTo } from '../../core/redirect.js';
import type { Db } from '../../core/db/index.js';
import { isRole, requireRole, setRole, staff } from './roles.js';

const RoleBody = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 254 }),
  role: Type.String({ maxLength: 20 }),
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
  _csrf: Type.Optional(Type.String()),
});

export async function accountsAdminRoutes(app: FastifyInstance, db: Db) {
  app.adminNav.add({ href: '/admin/roles', labelKey: 'accountsAdmin.nav', minRole: 'ADMIN', order: 90 });

  app.get('/admin/roles', { onRequest: requireRole('ADMIN') }, async (req, reply) => {
    const rows = await staff(db);
    return reply.page(
      'accounts/admin-roles',
      { staff: rows.map((r) => ({ ...r, roleLabel: req.t(`accountsAdmin.role${r.role}`) })) },
      { title: req.t('accountsAdmin.title') },
    );
  });

  app.post<{ Body: Static<typeof RoleBody> }>(
    '/admin/roles',
    { onRequest: requireRole('ADMIN'), schema: { body: RoleBody } },
    async (req, reply) => {
      const { email, role } = req.body;
      if (!isRole(role)) throw new AppError(422, 'accounts.errors.roleInvalid', {}, 'ROLE_INVALID');
      const res = await setRole(db, actorOf(req), { email }, role, req.body.reason?.trim() || null);
      flash(req, 'info', 'accountsAdmin.changed', {
        nickname: res.user.nickname,
        role: req.t(`accountsAdmin.role${res.after}`),
      });
      return goTo(req, reply, '/admin/roles');
    },
  );
}
