/** accounts jobs: what to mail after a sign-up or a reset request (see service.ts, reset.ts). */
import type { FastifyInstance } from 'fastify';
import { i18n, isLang, DEFAULT_LANG } from '../../core/i18n.js';
import type { AccountsDeps, SignupJob } from './service.js';
import { deliverSignup } from './service.js';
import { deliverReset } from './reset.js';

const QUEUE = 'accounts';
const tFor = (lang: unknown) => i18n.getFixedT(isLang(lang) ? lang : DEFAULT_LANG);

export function accountsJobs(app: FastifyInstance, deps: AccountsDeps) {
  app.queues.worker<{ signup?: SignupJob; reset?: { email: string; lang: string } }>(QUEUE, async (job) => {
    if (job.data.signup) await deliverSignup(deps, job.data.signup, tFor(job.data.signup.lang));
    if (job.data.reset) await deliverReset(deps, job.data.reset.email, tFor(job.data.reset.lang));
  });
  // The job carries a password hash or an address: gone from Redis once done.
  const opts = { removeOnComplete: true, removeOnFail: { age: 24 * 3600 } };
  return {
    signup: (signup: SignupJob) => app.queues.add(QUEUE, 'signup', { signup }, opts),
    reset: (email: string, lang: string) => app.queues.add(QUEUE, 'reset', { reset: { email, lang } }, opts),
  };
}
export type AccountsJobs = ReturnType<typeof accountsJobs>;
