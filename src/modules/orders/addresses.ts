/** The buyer's address book: saved shipping addresses, one of them the default (preselected on an order). */
import type { Db } from '../../core/db/index.js';
import { transaction } from '../../core/db/index.js';
import { AppError, notFound } from '../../core/errors.js';
import type { AddressInput } from './validation.js';

export const MAX_ADDRESSES = 10;

export async function listAddresses(db: Db, userId: number) {
  return db.orderAddress.findMany({ where: { userId }, orderBy: [{ isDefault: 'desc' }, { id: 'asc' }] });
}

export async function findAddress(db: Db, userId: number, id: number) {
  const a = await db.orderAddress.findFirst({ where: { id, userId } });
  if (!a) throw notFound();
  return a;
}

/** Saves an address; the first one (or one asked to be) becomes the default. */
export async function addAddress(db: Db, userId: number, a: AddressInput, makeDefault: boolean) {
  return transaction(db, async (tx) => {
    // Serialises one user's address-book writes (the count and the default flag).
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('order_addresses'), ${userId})`;
    const n = await tx.orderAddress.count({ where: { userId } });
    if (n >= MAX_ADDRESSES)
      throw new AppError(422, 'orders.errors.tooManyAddresses', { max: MAX_ADDRESSES }, 'VALIDATION');
    const isDefault = makeDefault || n === 0;
    if (isDefault) await tx.orderAddress.updateMany({ where: { userId }, data: { isDefault: false } });
    return tx.orderAddress.create({ data: { userId, ...a, isDefault } });
  });
}

export async function setDefault(db: Db, userId: number, id: number) {
  return transaction(db, async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('order_addresses'), ${userId})`;
    if (!(await tx.orderAddress.findFirst({ where: { id, userId } }))) throw notFound();
    await tx.orderAddress.updateMany({ where: { userId }, data: { isDefault: false } });
    await tx.orderAddress.update({ where: { id }, data: { isDefault: true } });
  });
}

export async function deleteAddress(db: Db, userId: number, id: number) {
  return transaction(db, async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('order_addresses'), ${userId})`;
    const a = await tx.orderAddress.findFirst({ where: { id, userId } });
    if (!a) throw notFound();
    await tx.orderAddress.delete({ where: { id } });
    if (a.isDefault) {
      const next = await tx.orderAddress.findFirst({ where: { userId }, orderBy: { id: 'asc' } });
      if (next) await tx.orderAddress.update({ where: { id: next.id }, data: { isDefault: true } });
    }
  });
}
