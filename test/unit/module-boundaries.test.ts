/**
 * The boundary rules really fail a violating tree (so a green `npm run lint` means something):
 * imports into a module's insides, edges against the module graph (module-graph.cjs), cycles,
 * core depending on a module, templates including another module's partials, and foreign keys
 * against the graph.
 */
import t from 'tap';
import { mkdtemp, mkdir, writeFile, rm, readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/env.js';
import { schemaViolations, templateViolations } from '../../scripts/boundaries.js';

const run = promisify(execFile);

async function cruise(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dapanda-deps-'));
  try {
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
    );
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
  const r = await cruise({
    ...base,
    'src/modules/bidding/service.ts': "import { hold } from '../wallet/index.js';\nexport const bid = () => hold();\n",
  });
  t.equal(r.code, 0, r.out);
});

t.test("reaching into another module's service.ts fails", async (t) => {
  const r = await cruise({
    ...base,
    'src/modules/bidding/service.ts':
      "import { hold } from '../wallet/service.js';\nexport const bid = () => hold();\n",
  });
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
  const r = await cruise({
    ...base,
    'src/core/x.ts': "import { hold } from '../modules/wallet/index.js';\nexport const x = hold;\n",
  });
  t.not(r.code, 0);
  t.match(r.out, 'core-is-not-business');
});

const index = (name: string) => ({ [`src/modules/${name}/index.ts`]: `export const ${name} = 1;\n` });
const importing = (from: string, to: string) => ({
  [`src/modules/${from}/service.ts`]: `import { ${to} } from '../${to}/index.js';\nexport const x = ${to};\n`,
});

t.test('the module graph: edges it allows pass, edges against it fail', async (t) => {
  // One tree per verdict (each cruise takes seconds): every edge of the list in it at once.
  const edges = (list: [string, string][]) =>
    Object.assign(
      {},
      ...list.map(([from, to], i) => ({
        ...index(to),
        [`src/modules/${from}/use-${i}.ts`]: `import { ${to} } from '../${to}/index.js';\nexport const x${i} = ${to};\n`,
      })),
    ) as Record<string, string>;
  const allowed: [string, string][] = [
    ['catalog', 'accounts'],
    ['bidding', 'catalog'],
    ['orders', 'bidding'],
    ['messages', 'orders'],
    ['notifications', 'bidding'],
    ['admin', 'wallet'],
  ];
  const ok = await cruise(edges(allowed));
  t.equal(ok.code, 0, `allowed: ${allowed.map((e) => e.join(' -> ')).join(', ')} ${ok.out}`);
  const forbidden: [string, string][] = [
    ['catalog', 'bidding'],
    ['accounts', 'catalog'],
    ['wallet', 'bidding'],
    ['messages', 'wallet'],
    ['bidding', 'notifications'],
    ['admin', 'notifications'],
    ['ops', 'accounts'],
  ];
  const bad = await cruise(edges(forbidden));
  t.not(bad.code, 0, 'a tree with edges against the graph fails');
  for (const [i, [from, to]] of forbidden.entries()) {
    t.match(
      bad.out,
      new RegExp(`module-graph-${from}: src/modules/${from}/use-${i}\\.ts`),
      `${from} -> ${to} is refused by the ${from} rule`,
    );
  }
});

t.test('a module missing from the graph may not import or be imported', async (t) => {
  let r = await cruise({ ...index('accounts'), ...importing('shop', 'accounts') });
  t.not(r.code, 0);
  t.match(r.out, 'module-not-in-graph');
  r = await cruise({ ...index('shop'), ...importing('bidding', 'shop') });
  t.not(r.code, 0);
  t.match(r.out, 'module-graph-bidding');
});

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dapanda-tree-'));
  for (const [f, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), body);
  }
  return dir;
}

t.test("templates include only their own module's partials and the shared ones", async (t) => {
  t.same(templateViolations(ROOT), [], 'the real tree is clean');
  const shared = {
    'views/partials/field.hbs': '<input>',
    'views/layouts/main.hbs': '{{> header}}{{{body}}}',
    'views/partials/header.hbs': '<header></header>',
  };
  const good = await tree({
    ...shared,
    'src/modules/catalog/views/partials/card.hbs':
      '{{> field}} {{slotFor "listing.card.actions" listingId=id}} {{> (lookup bidArea "partial") bidArea.data}}',
    'src/modules/catalog/views/home.hbs': '{{#each cards}}{{> catalog/card}}{{/each}}',
    'src/modules/bidding/views/partials/watch-form.hbs': '<form></form>',
  });
  const bad = await tree({
    ...shared,
    'src/modules/catalog/views/partials/card.hbs': '{{#if user}}{{> bidding/watch-form auctionId=id}}{{/if}}',
    'src/modules/catalog/views/home.hbs': '{{#> wallet/balances}}x{{/wallet/balances}}',
    'src/modules/bidding/views/partials/watch-form.hbs': '<form></form>',
    'views/errors/error.hbs': '{{> catalog/card}}',
  });
  t.teardown(() => Promise.all([good, bad].map((d) => rm(d, { recursive: true, force: true }))));
  t.same(templateViolations(good), [], 'own partials, shared partials and slots pass');
  const found = templateViolations(bad);
  t.equal(found.length, 3, found.join('\n'));
  t.match(found.join('\n'), /card\.hbs: includes "bidding\/watch-form", which is module bidding's/);
  t.match(found.join('\n'), /home\.hbs: includes "wallet\/balances"/);
  t.match(found.join('\n'), /error\.hbs: includes "catalog\/card"/, 'a shared template includes no module partial');
});

t.test('foreign keys run only along the module graph', async (t) => {
  t.same(schemaViolations(ROOT), [], 'the real schema is clean');
  const graph = await readFile(path.join(ROOT, 'module-graph.cjs'), 'utf8');
  const model = (name: string, extra = '') => `model ${name} {\n  id Int @id\n${extra}}\n`;
  const files = (catalogExtra: string) => ({
    'module-graph.cjs': graph,
    'prisma/schema/core.prisma': model('OutboxEvent'),
    'prisma/schema/accounts.prisma': model('User', '  listings Listing[]\n'),
    'prisma/schema/bidding.prisma': model('Auction', '  listings Listing[]\n'),
    'prisma/schema/catalog.prisma': model(
      'Listing',
      `  sellerId Int\n  seller User @relation(fields: [sellerId], references: [id])\n${catalogExtra}`,
    ),
  });
  const good = await tree(files(''));
  const bad = await tree(
    files(
      '  auctionId Int\n  auction Auction? @relation("Won", fields: [auctionId], references: [id])\n  eventId Int\n  event OutboxEvent @relation(fields: [eventId], references: [id])\n',
    ),
  );
  t.teardown(() => Promise.all([good, bad].map((d) => rm(d, { recursive: true, force: true }))));
  t.same(schemaViolations(good), [], 'catalog -> accounts (Listing.seller) is allowed');
  const found = schemaViolations(bad);
  t.equal(found.length, 2, found.join('\n'));
  t.match(found.join('\n'), /Listing \(catalog\) holds a foreign key to Auction \(bidding\)/);
  t.match(found.join('\n'), /Listing \(catalog\) holds a foreign key to OutboxEvent \(core\)/);
});
