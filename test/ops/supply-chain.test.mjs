// Supply-chain gates of CI (.github/workflows/ci.yml, .ci/run): the workflow lint passes on every
// workflow of this repository and fails on each kind of unsafe workflow (the unpinned
// tj-actions/changed-files@v45 of CVE-2025-30066 first); the secret scan finds a key in the tree and,
// with --diff, one that was committed and deleted again.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repo, run } from './helpers.mjs';
import { lint, lintFile } from '../../scripts/lint-workflows.mjs';

const fixtures = path.join(repo, 'test/ops/fixtures/workflows');
const f = (name) => path.join(fixtures, name);
const readdir = () => fs.readdirSync(fixtures).filter((n) => n.endsWith('.yml'));

t.test('every workflow of this repository passes the lint', (t) => {
  const dir = path.join(repo, '.github/workflows');
  const files = fs.readdirSync(dir).filter((n) => /\.ya?ml$/.test(n));
  t.ok(files.includes('ci.yml'), `workflows: ${files.join(', ')}`);
  t.same(lint([dir]), [], 'no findings');
  const r = run('node', ['scripts/lint-workflows.mjs']);
  t.equal(r.code, 0, r.out.trim());
  t.end();
});

t.test('the lint fails on each unsafe workflow', (t) => {
  const cases = {
    'bad-unpinned-tag.yml': [/tj-actions\/changed-files@v45 is not pinned to a full commit SHA.*CVE-2025-30066/],
    'bad-branch-and-short-sha.yml': [
      /actions\/setup-node@main is not pinned/,
      /upload-artifact@bbbca2d is not pinned/,
      /docker:\/\/alpine:3\.20 is not pinned by digest/,
      /build\.yml@v1 is not pinned/,
    ],
    'bad-sha-without-version.yml': [/needs the release it pins in a comment/],
    'bad-job-without-permissions.yml': [/job "implicit" has no explicit permissions/],
    'bad-top-level-write.yml': [/top-level permissions .*grant write/],
    'bad-write-all.yml': [/"write-all" grant write/],
    'bad-no-top-level.yml': [/no top-level permissions/],
    'bad-cloud-keys.yml': [/AWS_SECRET_ACCESS_KEY: long-lived cloud keys; use OIDC/],
    'bad-script-injection.yml': [/run script expands \$\{\{ github\.event\./],
    'bad-schema.yml': [
      /schema: \/jobs\/a Additional property 'permisions' is not allowed/,
      /job "a" has no explicit permissions/,
    ],
  };
  for (const [name, want] of Object.entries(cases)) {
    const found = lintFile(f(name));
    for (const w of want)
      t.ok(
        found.some((x) => w.test(x)),
        `${name}: ${w}`,
      );
    t.ok(found.length >= want.length, `${name}: ${found.length} finding(s)`);
  }
  t.same(
    lintFile(f('good.yml')),
    [],
    'good.yml (SHA + version comment, local action, docker digest, env for event data, pinned reusable workflow): no findings',
  );
  const all = readdir();
  t.same(
    all.filter((n) => !Object.keys(cases).includes(n) && n !== 'good.yml'),
    [],
    'every fixture is checked',
  );
  // The command line exits non-zero, which is what fails CI.
  const r = run('node', ['scripts/lint-workflows.mjs', f('bad-unpinned-tag.yml')]);
  t.equal(r.code, 1, 'exit 1 on the unpinned action');
  t.match(r.out, /tj-actions\/changed-files@v45/);
  t.end();
});

t.test('secret scan: a key in the tree, and one committed then deleted (only --diff sees it)', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpd-secrets-'));
  const git = (...a) => run('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...a], { cwd: dir });
  git('init', '-q');
  fs.writeFileSync(path.join(dir, 'README'), 'hello\n');
  git('add', '.');
  git('commit', '-qm', 'first');
  const base = git('rev-parse', 'HEAD').stdout.trim();
  // Made here, never stored in this repository: a real RSA key, and a token shaped like GitHub's.
  const key = run('openssl', ['genrsa', '2048']).stdout;
  t.match(key, /BEGIN PRIVATE KEY|BEGIN RSA PRIVATE KEY/, 'test key generated');
  fs.writeFileSync(path.join(dir, 'deploy.key'), key);
  const tok =
    'ghp_' +
    Array.from({ length: 36 }, (_, i) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789'[(i * 7 + 3) % 46]).join('');
  fs.writeFileSync(path.join(dir, 'settings.env'), `GITHUB_TOKEN=${tok}\n`);
  git('add', '.');
  git('commit', '-qm', 'oops');
  const scan = (...a) => run('bash', [path.join(repo, 'scripts/secret-scan.sh'), ...a], { cwd: dir, timeout: 120_000 });

  let r = scan();
  t.equal(r.code, 1, 'tree scan fails with the key in the tree');
  t.match(r.out, /deploy\.key[\s\S]*PrivateKey/);
  t.notMatch(r.out, new RegExp(tok), 'the finding is masked');

  git('rm', '-q', 'deploy.key', 'settings.env');
  git('commit', '-qm', 'remove again');
  r = scan();
  t.equal(r.code, 0, `tree scan of the cleaned tree passes: ${r.out.trim().split('\n').at(-1)}`);
  r = scan('--diff', base);
  t.equal(r.code, 1, 'diff scan of the pushed commits still finds both');
  t.match(r.out, /deploy\.key[\s\S]*PrivateKey/);
  t.match(r.out, /settings\.env[\s\S]*GITHUB_TOKEN/);
  t.match(
    scan('--diff', '0000000000000000000000000000000000000000').out,
    /scanning every commit/,
    "a new branch's push (no base) scans the whole history",
  );
  t.end();
});

t.test(
  'npm audit: ci.yml runs it on every push and PR; .ci/run never reports a missing answer as a pass',
  async (t) => {
    const { parse } = await import('yaml');
    const wf = parse(fs.readFileSync(path.join(repo, '.github/workflows/ci.yml'), 'utf8'));
    t.ok(wf.on && 'push' in wf.on && 'pull_request' in wf.on, 'ci.yml runs on push and pull_request');
    const steps = Object.entries(wf.jobs).flatMap(([job, j]) => (j.steps ?? []).map((s) => ({ job, ...s })));
    const audit = steps.filter((s) => typeof s.run === 'string' && /^\s*npm audit --audit-level=high\s*$/m.test(s.run));
    t.equal(audit.length, 1, `one step runs npm audit --audit-level=high (job ${audit[0]?.job})`);
    t.notOk(audit[0]?.['continue-on-error'], 'and its failure fails the job');
    t.notOk(wf.jobs[audit[0]?.job]?.['continue-on-error'], 'and the job fails the run');

    // .ci/run's audit gate, with the real npm and registry: where the audit API answers, its exit code is
    // npm's; where it does not (here: 405), the gate says NOT RUN and the summary repeats it.
    const script = fs.readFileSync(path.join(repo, '.ci/run'), 'utf8');
    const fn = script.slice(
      script.indexOf('audit_not_run=""'),
      script.indexOf('\n}\n', script.indexOf('audit() {')) + 3,
    );
    t.match(
      script,
      /npm audit NOT RUN here \(\$\{audit_not_run\}\)/,
      'the final summary names a gate that did not run',
    );
    const gate = run('bash', ['-c', `set -euo pipefail; ${fn}\naudit; echo "not_run=[$audit_not_run]"`]);
    const npm = run('npm', ['audit', '--audit-level=high']);
    if (
      /audit endpoint returned an error|40\d Method Not Allowed|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/.test(
        npm.out,
      )
    ) {
      t.equal(gate.code, 0, 'no answer: the gate goes on');
      t.match(gate.out, /npm audit NOT RUN \(no advisory result; this is not a pass\)/, 'and says it did not run');
      t.match(gate.out, /not_run=\[.+\]/, 'and the summary will say so');
    } else {
      t.equal(gate.code, npm.code, `the registry answered: the gate's exit code is npm audit's (${npm.code})`);
      t.match(gate.out, /not_run=\[\]/, 'and nothing is reported as not run');
    }
  },
);
