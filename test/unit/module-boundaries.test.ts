/** The boundary rules really fail a violating tree (so a green `npm run depcheck` means something). */
import t from 'tap';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/env.js';

const run = promisify(execFile);

async function cruise(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dapanda-deps-'));
  try {
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
    for (const [f, body] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await writeFile(path.join(dir, f), body);
    }
    const bin = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
    try {
      const r = await run(bin, ['src', '--config', path.join(ROOT, '.dependency-cruiser.cjs')], { cwd: dir });
      return { code: 0, out: r.stdout };
    } catch (e) {
      const err = e as { code: number; stdout: string };
      return { code: err.code, out: err.stdout };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const base = {
  'src/modules/wallet/index.ts': "export { hold } from './service.js';\n",
  'src/modules/wallet/service.ts': 'export const hold = () => 1;\n',
};

t.test('importing a module through its index.ts passes', async (t) => {
  const r = await cruise({ ...base, 'src/modules/bidding/service.ts': "import { hold } from '../wallet/index.js';\nexport const bid = () => hold();\n" });
  t.equal(r.code, 0, r.out);
});

t.test("reaching into another module's service.ts fails", async (t) => {
  const r = await cruise({ ...base, 'src/modules/bidding/service.ts': "import { hold } from '../wallet/service.js';\nexport const bid = () => hold();\n" });
  t.not(r.code, 0);
  t.match(r.out, 'no-reaching-into-other-modules');
});

t.test('a cycle between modules fails', async (t) => {
  const r = await cruise({
    'src/modules/a/index.ts': "import { b } from '../b/index.js';\nexport const a = () => b;\n",
    'src/modules/b/index.ts': "import { a } from '../a/index.js';\nexport const b = () => a;\n",
  });
  t.not(r.code, 0);
  t.match(r.out, 'no-module-cycles');
});

t.test('core importing a business module fails', async (t) => {
  const r = await cruise({ ...base, 'src/core/x.ts': "import { hold } from '../modules/wallet/index.js';\nexport const x = hold;\n" });
  t.not(r.code, 0);
  t.match(r.out, 'core-is-not-business');
});
