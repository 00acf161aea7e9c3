// Supply-chain lint of GitHub Actions workflows (every *.yml / *.yaml under .github/workflows, or the
// files / directories given). Fails on:
//   - anything GitHub's workflow schema refuses (@action-validator/core: a misspelt key, a job without
//     runs-on, ...), since nothing here can run the workflows themselves;
//   - a third-party `uses:` (step or reusable workflow) not pinned to a full 40-hex commit SHA, or pinned
//     without the release it stands for in a comment (`@<sha> # v4.2.2`): tags and branches move, and a
//     moved tag is how tj-actions/changed-files leaked CI secrets in March 2025 (CVE-2025-30066);
//   - a `docker://` image not pinned by sha256 digest;
//   - no top-level `permissions`, or one that grants any write (the default is read; jobs widen it);
//   - a job without its own explicit `permissions`;
//   - long-lived cloud keys (AWS access keys from secrets, or as action inputs): use OIDC
//     (`id-token: write` + a role to assume) instead;
//   - `${{ github.event.* }}` / `github.head_ref` expanded inside a `run:` script (script injection:
//     pass it through `env:` instead).
//
//   node scripts/lint-workflows.mjs [FILE|DIR...]      prints one line per finding, exits 1 on any
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, isScalar, visit } from 'yaml';
import { validateWorkflow } from '@action-validator/core';

const SHA = /^[0-9a-f]{40}$/;
const DIGEST = /@sha256:[0-9a-f]{64}$/;

function readOnly(perms) {
  if (perms === 'read-all' || perms === '{}') return true;
  if (typeof perms === 'string') return false; // write-all, or anything else
  if (perms && typeof perms === 'object') return Object.values(perms).every((v) => v === 'read' || v === 'none');
  return false;
}

function checkUses(value, line, where, out) {
  if (typeof value !== 'string') return out.push(`${where}: uses must be a string`);
  if (value.startsWith('./')) return; // an action or workflow of this repository, pinned by the checkout itself
  if (value.startsWith('docker://')) {
    if (!DIGEST.test(value)) out.push(`${where}: ${value} is not pinned by digest (docker://image@sha256:<64 hex>)`);
    return;
  }
  const at = value.lastIndexOf('@');
  const ref = at > 0 ? value.slice(at + 1) : '';
  if (!SHA.test(ref)) {
    out.push(
      `${where}: ${value} is not pinned to a full commit SHA (tags and branches can be moved, see CVE-2025-30066)`,
    );
    return;
  }
  if (!/#\s*v?\d+(\.\d+)*\S*/.test(line))
    out.push(`${where}: ${value} needs the release it pins in a comment (e.g. "@${ref} # v1.2.3")`);
}

const CLOUD_KEY = /\b(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id|aws-secret-access-key)\b/;
const INJECTABLE = /\$\{\{\s*(github\.event\.|github\.head_ref)/;

// The validator reports a oneOf (a job is either steps or a reusable workflow call) with every
// branch's errors: keep the details of the branch with the fewest, each once.
function schemaErrors(errors) {
  const out = new Set();
  for (const e of errors) {
    if (e.states?.length) {
      const best = e.states.reduce((a, b) => (b.errors.length < a.errors.length ? b : a));
      for (const x of schemaErrors(best.errors)) out.add(x);
    } else out.add(`${e.path ?? ''} ${e.detail ?? e.title}`.trim());
  }
  return [...out];
}

export function lintFile(file) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const out = [];
  const doc = parseDocument(text);
  if (doc.errors.length) return doc.errors.map((e) => `${file}: YAML: ${e.message.split('\n')[0]}`);
  const wf = doc.toJS();
  if (!wf || typeof wf !== 'object') return [`${file}: not a workflow`];
  for (const e of schemaErrors(validateWorkflow(text).errors)) out.push(`${file}: schema: ${e}`);

  if (!('permissions' in wf))
    out.push(`${file}: no top-level permissions (set "permissions: contents: read" and widen per job)`);
  else if (!readOnly(wf.permissions))
    out.push(
      `${file}: top-level permissions ${JSON.stringify(wf.permissions)} grant write; keep them read-only and widen per job`,
    );

  const jobs = wf.jobs && typeof wf.jobs === 'object' ? wf.jobs : {};
  if (!Object.keys(jobs).length) out.push(`${file}: no jobs`);
  for (const [id, job] of Object.entries(jobs)) {
    if (!job || typeof job !== 'object') continue;
    if (!('permissions' in job)) out.push(`${file}: job "${id}" has no explicit permissions`);
  }

  // Every `uses:` anywhere (steps, reusable workflow calls), with its source line for the comment.
  const lineAt = (offset) => text.slice(0, offset).split('\n').length;
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key)) return;
      const key = String(pair.key.value);
      const line = lineAt(pair.key.range?.[0] ?? 0);
      const value = isScalar(pair.value) ? pair.value.value : undefined;
      const at = `${file}:${line}`;
      if (key === 'uses') checkUses(value, lines[line - 1] ?? '', at, out);
      if (key === 'run' && typeof value === 'string' && INJECTABLE.test(value)) {
        out.push(`${at}: run script expands ${INJECTABLE.exec(value)[0]}...: pass it through env: instead`);
      }
      if (CLOUD_KEY.test(key))
        out.push(`${at}: ${key}: long-lived cloud keys; use OIDC (id-token: write, role-to-assume)`);
      if (typeof value === 'string' && /secrets\.(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)\b/.test(value)) {
        out.push(
          `${at}: reads ${/secrets\.\w+/.exec(value)[0]}: long-lived cloud keys; use OIDC (id-token: write, role-to-assume)`,
        );
      }
    },
  });
  return out;
}

export function workflowFiles(targets) {
  const files = [];
  for (const t of targets) {
    if (fs.statSync(t).isDirectory()) {
      for (const f of fs.readdirSync(t).sort()) if (/\.ya?ml$/.test(f)) files.push(path.join(t, f));
    } else files.push(t);
  }
  return files;
}

export function lint(targets) {
  return workflowFiles(targets).flatMap((f) => lintFile(f));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const targets = process.argv.slice(2).length ? process.argv.slice(2) : [path.join(repo, '.github/workflows')];
  const files = workflowFiles(targets);
  const findings = files.flatMap((f) => lintFile(f));
  for (const f of findings) console.log(f);
  console.log(`[lint-workflows] ${files.length} workflow file(s), ${findings.length} finding(s)`);
  process.exit(findings.length ? 1 : 0);
}
