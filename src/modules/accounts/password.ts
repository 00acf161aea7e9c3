/**
 * How guessable a new password is, by zxcvbn-ts (a well-kept port of Dropbox's estimator: common
 * passwords, dictionary words and names, keyboard rows, repeats, sequences, dates, and the
 * person's own e-mail and nickname). A password must be 10-200 characters and score at least 3
 * of 4 ("safely unguessable": about 10^8 guesses or more). The reason a password is refused
 * comes from zxcvbn's warning, shown from our own catalogs in Korean or English.
 */
import { Worker } from 'node:worker_threads';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;
export const MIN_SCORE = 3;
/** zxcvbn's time grows with length; what follows the first 100 characters adds nothing to guessing. */
const ESTIMATE_CHARS = 100;

export const WARNINGS = [
  'straightRow',
  'keyPattern',
  'simpleRepeat',
  'extendedRepeat',
  'sequences',
  'recentYears',
  'dates',
  'topTen',
  'topHundred',
  'common',
  'similarToCommon',
  'wordByItself',
  'namesByThemselves',
  'commonNames',
  'userInputs',
  'pwned',
] as const;

/**
 * The estimator runs on a worker thread: building its dictionaries takes about a second of CPU
 * and one check of a long password up to a few hundred milliseconds, which on the main thread
 * would stall every request (the load shedder answered 503 while it loaded). One thread per
 * process, started on first use, not keeping the process alive.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ready = Promise.all(workerData.modules.map((m) => import(m))).then(([core, common, en]) => {
  // Warnings come back as their own ids; the text is ours, in the person's language.
  const ids = Object.fromEntries(Object.keys(en.translations.warnings).map((k) => [k, k]));
  return new core.ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: { ...en.translations, warnings: ids },
  });
});
parentPort.on('message', async ({ id, password, inputs }) => {
  try {
    const r = (await ready).check(password, inputs);
    parentPort.postMessage({ id, score: r.score, warning: r.feedback.warning || null });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

type Answer = { id: number; score: number; warning: string | null; error?: string };
let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();

function estimator(): Worker {
  if (worker) return worker;
  const modules = ['@zxcvbn-ts/core', '@zxcvbn-ts/language-common', '@zxcvbn-ts/language-en'].map((m) =>
    import.meta.resolve(m),
  );
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { modules } });
  w.on('message', (a: Answer) => {
    const p = pending.get(a.id);
    pending.delete(a.id);
    if (a.error) p?.reject(new Error(a.error));
    else p?.resolve(a);
    if (!pending.size) w.unref();
  });
  const fail = (err: Error) => {
    worker = null; // the next check starts a new thread
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`password estimator exited (${code})`)));
  worker = w;
  return w;
}

function estimate(password: string, inputs: string[]): Promise<Answer> {
  const id = ++nextId;
  return new Promise<Answer>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    const w = estimator();
    w.ref(); // kept alive while a check is waiting, not after (see the message listener)
    w.postMessage({ id, password, inputs });
  });
}

export interface PasswordProblem {
  key: string;
  params?: Record<string, unknown>;
}

/** Null when the password is acceptable; else the message key saying why not. */
export async function passwordProblem(password: string, userInputs: string[] = []): Promise<PasswordProblem | null> {
  if ([...password].length < PASSWORD_MIN) return { key: 'accounts.errors.passwordWeak' };
  if (password.length > PASSWORD_MAX) return { key: 'accounts.errors.passwordTooLong' };
  const inputs = userInputs.flatMap((s) => [s, ...s.split(/[@._-]/)]).filter((s) => s.length >= 3);
  const r = await estimate(password.slice(0, ESTIMATE_CHARS), inputs);
  if (r.score >= MIN_SCORE) return null;
  const warning = r.warning;
  return {
    key:
      warning && (WARNINGS as readonly string[]).includes(warning)
        ? `accountSecurity.weak.${warning}`
        : 'accountSecurity.weak.guessable',
  };
}
