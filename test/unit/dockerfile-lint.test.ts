/**
 * The container option's Dockerfile, linted without a Docker engine (none runs on these
 * machines): dockerfile-utils (the linter behind VS Code's Dockerfile support) with every check
 * at error level, shellcheck on each RUN's shell, and hadolint's main rules (tagged base images,
 * a non-root USER, npm ci, no remote ADD, no sudo, apt without recommends).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { DockerfileParser } from 'dockerfile-ast';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const E = ValidationSeverity.ERROR;

t.test('dockerfile-utils finds nothing with every rule at error level', async (t) => {
  const settings = {
    deprecatedMaintainer: E,
    directiveCasing: E,
    emptyContinuationLine: E,
    instructionCasing: E,
    instructionCmdMultiple: E,
    instructionEntrypointMultiple: E,
    instructionHealthcheckMultiple: E,
    instructionJSONInSingleQuotes: E,
    instructionWorkdirRelative: E,
  };
  t.same(
    validate(text, settings).map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
    [],
  );
  // The linter does catch what it should (a deprecated MAINTAINER, a relative WORKDIR).
  t.ok(validate('FROM node:20\nMAINTAINER x\nWORKDIR app\n', settings).length >= 2);
});

const instructions = DockerfileParser.parse(text).getInstructions();
const of = (kw: string) => instructions.filter((i) => i.getKeyword() === kw);

t.test('every RUN passes shellcheck (as hadolint does)', async (t) => {
  const runs = of('RUN').map((i) => i.getRawArgumentsContent?.() ?? i.getTextContent().replace(/^RUN\s+/, ''));
  t.ok(runs.length > 0);
  const script = ['#!/bin/sh', 'set -e', ...runs].join('\n');
  const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: script, encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout);
});

t.test("images, users and installs follow hadolint's main rules", async (t) => {
  for (const f of of('FROM')) {
    const image = f.getArguments()[0].getValue();
    t.match(image, /^[a-z0-9./-]+:[0-9][A-Za-z0-9._-]*$/, `${image}: a versioned tag, not latest`);
  }
  const users = of('USER').map((u) => u.getArguments()[0].getValue());
  t.ok(users.length && !['root', '0'].includes(users.at(-1)!), 'the final image runs as a non-root user');
  const body = of('RUN')
    .map((i) => i.getTextContent())
    .join('\n');
  t.notMatch(body, /\bsudo\b/);
  t.notMatch(body, /npm install(?! -g)/, 'npm ci, never npm install');
  t.notMatch(body, /apt-get install(?![^\n]*--no-install-recommends)/);
  t.notOk(
    of('ADD').some((a) => /https?:\/\//.test(a.getTextContent())),
    'no ADD of a remote URL',
  );
  t.equal(of('HEALTHCHECK').length, 1, 'a health check');
  t.equal(of('CMD').length, 1, 'one CMD');
});
