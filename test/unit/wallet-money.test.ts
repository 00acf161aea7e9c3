import t from 'tap';
import {
  parseWon,
  checkBank,
  maskAccount,
  isRequestKey,
  TOPUP_MIN,
  TOPUP_MAX,
} from '../../src/modules/wallet/money.js';
import { isValidCardNumber, testCardOutcome, TEST_CARDS } from '../../src/modules/wallet/gateway.js';
import { loadConfig } from '../../src/config.js';

const topup = { min: TOPUP_MIN, max: TOPUP_MAX };

t.test('amounts typed by people', async (t) => {
  const ok = (raw: string, v: number) => t.same(parseWon(raw, topup), { ok: true, value: v }, raw);
  const bad = (raw: unknown, key: string) =>
    t.equal((parseWon(raw, topup) as { key: string }).key, `wallet.errors.${key}`, String(raw));
  ok('1000', 1000);
  ok('10,000', 10000);
  ok(' 50 000 ', 50000);
  ok('10,000원', 10000);
  ok('₩25,000', 25000);
  ok('3000.00', 3000);
  ok('10000000', 10_000_000);
  bad('', 'amountRequired');
  bad(undefined, 'amountRequired');
  bad('0', 'amountPositive');
  bad('-1000', 'amountPositive');
  bad('1000.5', 'amountNotInteger');
  bad('0.5', 'amountNotInteger');
  bad('abc', 'amountNotNumber');
  bad('1e6', 'amountNotNumber');
  bad('0x100', 'amountNotNumber');
  bad('Infinity', 'amountNotNumber');
  bad('10000001', 'amountMax');
  bad('9'.repeat(40), 'amountMax');
  bad('999', 'amountMin');
});

t.test('cards and bank accounts', async (t) => {
  for (const c of TEST_CARDS) t.ok(isValidCardNumber(c.number), `${c.number} passes Luhn`);
  t.notOk(isValidCardNumber('4242 4242 4242 4241'));
  t.notOk(isValidCardNumber('1234'));
  t.equal(testCardOutcome('4000-0000-0000-0002'), 'declined');
  t.equal(testCardOutcome('5555 5555 5555 4444'), 'success', 'any other valid card is approved');
  t.same(checkBank({ bankCode: '004', accountNumber: '123-45-678901', holderName: ' 김  판다 ' }).errors, {});
  t.equal(
    checkBank({ bankCode: '004', accountNumber: '123-45-678901', holderName: ' 김  판다 ' }).value.holderName,
    '김 판다',
  );
  t.same(Object.keys(checkBank({ bankCode: 'x', accountNumber: '12', holderName: '<script>' }).errors).sort(), [
    'accountNumber',
    'bankCode',
    'holderName',
  ]);
  t.equal(maskAccount('110-123-456789'), '***-***-**6789');
  t.ok(isRequestKey('0f8fad5b-d9cb-469f-a165-70867728950e'));
  t.notOk(isRequestKey('short'));
  t.notOk(isRequestKey('x'.repeat(65)));
});

t.test('WALLET_WITHDRAWAL_FEE config', async (t) => {
  t.equal(loadConfig({ NODE_ENV: 'test' }).walletWithdrawalFee, 500, 'default 500 won');
  t.equal(loadConfig({ NODE_ENV: 'test', WALLET_WITHDRAWAL_FEE: '0' }).walletWithdrawalFee, 0);
  for (const bad of ['-1', '1.5', 'abc', '100001'])
    t.throws(() => loadConfig({ NODE_ENV: 'test', WALLET_WITHDRAWAL_FEE: bad }), /WALLET_WITHDRAWAL_FEE/, bad);
});
