/**
 * The remembering cookie signer (core/security.ts memoSigner) answers exactly as @fastify/cookie's
 * own signer: the same signatures, the same verdicts, also for a value it has seen before, a
 * tampered copy of it, another secret's signature, and after the oldest answers were forgotten.
 */
import t from 'tap';
import { Signer } from '@fastify/cookie';
import { memoSigner } from '../../src/core/security.js';

const SECRET = 'a test secret that is long enough to be one';

t.test('same signatures and verdicts as the plain signer', async (t) => {
  const plain = new Signer(SECRET, 'sha256');
  const memo = memoSigner(SECRET, 4);
  const values = ['sid-1', 'sid-2', 'x'.repeat(40), 'sid-1'];
  for (const v of values) {
    t.equal(memo.sign(v), plain.sign(v), `sign ${v.slice(0, 8)}`);
    t.equal(memo.sign(v), plain.sign(v), `sign ${v.slice(0, 8)} again (remembered)`);
    const s = plain.sign(v);
    t.same(memo.unsign(s), plain.unsign(s), 'valid');
    t.same(memo.unsign(s), { valid: true, renew: false, value: v }, 'valid again (remembered)');
    const tampered = s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    t.same(memo.unsign(tampered), { valid: false, renew: false, value: null }, 'a tampered signature is refused');
    t.same(
      memo.unsign(`${v}x.${s.split('.').pop()}`),
      { valid: false, renew: false, value: null },
      'a changed value too',
    );
  }
  const other = new Signer('another secret, also long enough to be one', 'sha256').sign('sid-1');
  t.same(memo.unsign(other), { valid: false, renew: false, value: null }, "another secret's signature is refused");
  t.same(memo.unsign('no-dot'), plain.unsign('no-dot'));
  t.same(memo.unsign(''), plain.unsign(''));
});

t.test('bounded: past max the oldest are forgotten, answers unchanged', async (t) => {
  const plain = new Signer(SECRET, 'sha256');
  const memo = memoSigner(SECRET, 3);
  for (let i = 0; i < 20; i++) {
    const s = memo.sign(`v${i}`);
    t.equal(s, plain.sign(`v${i}`));
    t.equal(memo.unsign(s).value, `v${i}`);
  }
  for (let i = 0; i < 20; i++) t.equal(memo.unsign(plain.sign(`v${i}`)).value, `v${i}`, `v${i} still valid`);
});

t.test('a caller changing the answer it got does not change the next one', async (t) => {
  const memo = memoSigner(SECRET);
  const s = memo.sign('sid');
  const first = memo.unsign(s);
  (first as { value: string | null }).value = 'someone else';
  t.equal(memo.unsign(s).value, 'sid');
});
