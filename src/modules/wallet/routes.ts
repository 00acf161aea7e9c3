/** wallet pages: balances and history, card top-up, withdrawal. Plain forms first, htmx on top. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '../../core/typebox.js';
import { requireUser, flash } from '../../core/auth.js';
import { goTo } from '../../core/redirect.js';
import { AppError } from '../../core/errors.js';
import { InsufficientFunds } from './errors.js';
import { inTransaction, LEDGER_KINDS, type LedgerKind } from './ledger.js';
import * as operations from './operations.js';
import * as svc from './service.js';
import { history, bankAccountOf, payoutsOf } from './history.js';
import { TEST_CARDS, isValidCardNumber } from './gateway.js';
import {
  BANK_CODES,
  TOPUP_MAX,
  TOPUP_MIN,
  WITHDRAW_MAX,
  WITHDRAW_MIN,
  checkBank,
  isRequestKey,
  maskAccount,
  parseWon,
} from './money.js';

// A real calendar day (format: month 1-12, day within the month) in a year PostgreSQL accepts.
const DATE = { pattern: '^[1-9]\\d{3}-\\d{2}-\\d{2}$', format: 'date' } as const;
const HistoryQuery = Type.Object({
  kind: Type.Optional(Type.Union([Type.Literal(''), ...LEDGER_KINDS.map((k) => Type.Literal(k))])),
  from: Type.Optional(Type.Union([Type.Literal(''), Type.String(DATE)])),
  to: Type.Optional(Type.Union([Type.Literal(''), Type.String(DATE)])),
  // Ledger entry ids are bigint: 18 digits stay below 2^63 (19 could overflow it).
  before: Type.Optional(Type.String({ pattern: '^\\d{1,18}$' })),
  lang: Type.Optional(Type.String()),
});
const TopupBody = Type.Object({
  amount: Type.String({ maxLength: 100 }),
  cardNumber: Type.String({ maxLength: 100 }),
  key: Type.String({ maxLength: 100 }),
  _csrf: Type.Optional(Type.String()),
});
const WithdrawBody = Type.Object({
  amount: Type.String({ maxLength: 100 }),
  bankCode: Type.String({ maxLength: 10 }),
  accountNumber: Type.String({ maxLength: 100 }),
  holderName: Type.String({ maxLength: 100 }),
  key: Type.String({ maxLength: 100 }),
  _csrf: Type.Optional(Type.String()),
});

/** A fresh idempotency key, generated when a form is rendered. */
const newKey = () => randomUUID();

export async function walletRoutes(app: FastifyInstance, deps: svc.WalletDeps) {
  const banks = (req: FastifyRequest, selected?: string) =>
    BANK_CODES.map((code) => ({ code, name: req.t(`wallet.banks.b${code}`), selected: code === selected }));
  const kinds = (req: FastifyRequest, selected?: string) =>
    LEDGER_KINDS.map((k) => ({ value: k, label: req.t(`wallet.kinds.${k}`), selected: k === selected }));

  app.get<{ Querystring: Static<typeof HistoryQuery> }>(
    '/wallet',
    { preHandler: requireUser, schema: { querystring: HistoryQuery } },
    async (req, reply) => {
      const userId = req.user!.id;
      const q = req.query;
      const filter = {
        kind: (q.kind || undefined) as LedgerKind | undefined,
        from: q.from || undefined,
        to: q.to || undefined,
      };
      const [balances, page] = await Promise.all([
        inTransaction(deps.db, (tx) => operations.balances(tx, userId)),
        history(deps.db, userId, { ...filter, before: q.before ? BigInt(q.before) : undefined }),
      ]);
      // The item of each hold, escrow and payout, from the module that made the reference: one
      // batch per page (core/ledger-labels.ts).
      const labels = await app.ledgerLabels.resolve(page.rows.map((r) => r.reference));
      const rows = page.rows.map((r) => ({
        ...r,
        kindLabel: req.t(`wallet.kinds.${r.kind}`),
        positive: r.availableChange > 0,
        item: labels.get(r.reference) ?? null,
      }));
      const params = new URLSearchParams(Object.entries(filter).filter(([, v]) => v) as [string, string][]);
      if (page.nextBefore) params.set('before', page.nextBefore);
      const data = {
        balances,
        rows,
        filter,
        kinds: kinds(req, filter.kind),
        moreUrl: page.nextBefore ? `/wallet?${params}` : null,
        paged: Boolean(q.before),
      };
      // "More" via htmx appends only the next rows.
      if (req.htmx && req.headers['hx-target'] === 'wallet-more') return reply.fragment('wallet/history-rows', data);
      return reply.page('wallet/index', data, { title: req.t('wallet.title') });
    },
  );

  const topupPage = (req: FastifyRequest, reply: FastifyReply, data: Record<string, unknown>) => {
    const full = {
      testCards: TEST_CARDS.map((c) => ({ ...c, label: req.t(`wallet.testCards.${c.outcome}`) })),
      min: TOPUP_MIN,
      max: TOPUP_MAX,
      errors: {},
      values: {},
      ...data,
    };
    if (req.htmx && reply.statusCode >= 400) return reply.fragment('wallet/topup-form', full);
    return reply.page('wallet/topup', full, { title: req.t('wallet.topupTitle'), scripts: ['wallet.js'] });
  };

  app.get('/wallet/topup', { preHandler: requireUser }, async (req, reply) => topupPage(req, reply, { key: newKey() }));

  app.post<{ Body: Static<typeof TopupBody> }>(
    '/wallet/topup',
    { preHandler: requireUser, schema: { body: TopupBody } },
    async (req, reply) => {
      const b = req.body;
      const values = { amount: b.amount, cardNumber: b.cardNumber };
      const errors: Record<string, string> = {};
      const amount = parseWon(b.amount, { min: TOPUP_MIN, max: TOPUP_MAX });
      if (!amount.ok) errors.amount = req.t(amount.key, amount.params);
      if (!isValidCardNumber(b.cardNumber)) errors.cardNumber = req.t('wallet.errors.cardInvalid');
      const key = isRequestKey(b.key) ? b.key : newKey();
      if (!amount.ok || Object.keys(errors).length) {
        reply.code(422);
        return topupPage(req, reply, { key, values, errors });
      }
      let outcome: svc.TopupOutcome;
      try {
        outcome = await svc.topUp(deps, { userId: req.user!.id, amount: amount.value, key, cardNumber: b.cardNumber });
      } catch (err) {
        if (err instanceof AppError && err.code === 'IDEMPOTENCY_MISMATCH') {
          reply.code(409);
          return topupPage(req, reply, { key: newKey(), values, formError: req.t(err.messageKey) });
        }
        throw err;
      }
      if (outcome.status === 'credited') {
        flash(req, 'info', outcome.replayed ? 'wallet.topupAlreadyDone' : 'wallet.topupDone', {
          amount: amount.value.toLocaleString('ko-KR'),
        });
        return goTo(req, reply, '/wallet');
      }
      reply.code(422);
      if (outcome.status === 'declined') {
        // A declined card is final for this attempt: a new key lets the user try again (another card).
        return topupPage(req, reply, {
          key: newKey(),
          values,
          formError: req.t(`wallet.errors.declined_${outcome.code}`, {
            defaultValue: req.t('wallet.errors.declined_declined'),
          }),
        });
      }
      // Timeout: the charge may have happened. Same key, so the retry asks the gateway instead of charging twice.
      return topupPage(req, reply, { key, values, formError: req.t('wallet.errors.gatewayTimeout'), retry: true });
    },
  );

  const withdrawPage = async (req: FastifyRequest, reply: FastifyReply, data: Record<string, unknown>) => {
    const userId = req.user!.id;
    const [balances, bank, payouts] = await Promise.all([
      inTransaction(deps.db, (tx) => operations.balances(tx, userId)),
      bankAccountOf(deps.db, userId),
      payoutsOf(deps.db, userId),
    ]);
    const values = (data.values as Record<string, string> | undefined) ?? {
      bankCode: bank?.bankCode ?? '',
      accountNumber: bank?.accountNumber ?? '',
      holderName: bank?.holderName ?? '',
    };
    const full = {
      balances,
      fee: deps.withdrawalFee,
      min: WITHDRAW_MIN,
      max: WITHDRAW_MAX,
      errors: {},
      ...data,
      values,
      banks: banks(req, values.bankCode),
      payouts: payouts.map((p) => ({
        ...p,
        bankName: req.t(`wallet.banks.b${p.bankCode}`),
        account: maskAccount(p.accountNumber),
        statusLabel: req.t(`wallet.payoutStatus.${p.status}`),
      })),
    };
    if (req.htmx && reply.statusCode >= 400) return reply.fragment('wallet/withdraw-form', full);
    return reply.page('wallet/withdraw', full, { title: req.t('wallet.withdrawTitle') });
  };

  app.get('/wallet/withdraw', { preHandler: requireUser }, async (req, reply) =>
    withdrawPage(req, reply, { key: newKey() }),
  );

  app.post<{ Body: Static<typeof WithdrawBody> }>(
    '/wallet/withdraw',
    { preHandler: requireUser, schema: { body: WithdrawBody } },
    async (req, reply) => {
      const b = req.body;
      const values = {
        amount: b.amount,
        bankCode: b.bankCode,
        accountNumber: b.accountNumber,
        holderName: b.holderName,
      };
      const amount = parseWon(b.amount, { min: WITHDRAW_MIN, max: WITHDRAW_MAX });
      const bank = checkBank(b);
      const errors: Record<string, string> = Object.fromEntries(
        Object.entries(bank.errors).map(([k, v]) => [k, req.t(v as string)]),
      );
      if (!amount.ok) errors.amount = req.t(amount.key, amount.params);
      const key = isRequestKey(b.key) ? b.key : newKey();
      if (!amount.ok || Object.keys(errors).length) {
        reply.code(422);
        return withdrawPage(req, reply, { key, values, errors });
      }
      try {
        const r = await svc.requestWithdrawal(deps, {
          userId: req.user!.id,
          amount: amount.value,
          key,
          bank: bank.value,
        });
        flash(req, 'info', 'wallet.withdrawRequested', {
          amount: amount.value.toLocaleString('ko-KR'),
          fee: r.fee.toLocaleString('ko-KR'),
        });
        return goTo(req, reply, '/wallet/withdraw');
      } catch (err) {
        if (err instanceof InsufficientFunds || (err instanceof AppError && err.code === 'IDEMPOTENCY_MISMATCH')) {
          reply.code(err.statusCode === 409 && err.code === 'IDEMPOTENCY_MISMATCH' ? 409 : 422);
          return withdrawPage(req, reply, {
            key: newKey(),
            values,
            errors: { amount: req.t(err.messageKey, err.params) },
          });
        }
        throw err;
      }
    },
  );
}
