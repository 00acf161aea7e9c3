// Builds node-tap's Test class with the plugins .taprc asks for ("!@tapjs/typescript": tests run through
// tsx) before any test starts. tap does this itself on the first run after `npm ci`, but that run's own
// test processes still get the import loaders of the class it started with, so on a clean clone every
// test process of the first `npm test` also loaded ts-node beside tsx (+3.5 s CPU per process, ~98 of
// them). Exits at once when the built class already matches.
import { spawnSync } from 'node:child_process';
import { TapConfig } from '@tapjs/config';
import { signature } from '@tapjs/test';

const config = await TapConfig.load();
if (config.pluginSignature !== signature) {
  console.log('[test] tap: building its Test class for the configured plugins');
  const r = spawnSync('npx', ['tap', 'build'], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
