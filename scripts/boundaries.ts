/**
 * The module boundaries dependency-cruiser cannot see (it reads imports only), checked against
 * the graph in module-graph.cjs. `npm run lint` runs this file; the boundary tests call the
 * functions on deliberately bad trees.
 * - templates: a template includes (`{{> name}}`) only its own module's partials
 *   (`<module>/...`) and the shared ones in views/partials; another module's part comes in
 *   through a slot (core/slots.ts).
 * - schema: a relation (foreign key) between two modules' models in prisma/schema/*.prisma
 *   goes only along the graph: the model holding the key belongs to the module that may use the
 *   other. core's tables relate only to core's.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Graph = Record<string, { uses: string[] | '*'; leaf?: boolean }>;

export function loadGraph(root: string): Graph {
  return createRequire(import.meta.url)(path.join(root, 'module-graph.cjs')) as Graph;
}

/** May module `from` depend on module `to`? */
export function mayUse(graph: Graph, from: string, to: string): boolean {
  if (from === to) return true;
  const g = graph[from];
  if (!g || !graph[to] || graph[to].leaf) return false;
  return g.uses === '*' || g.uses.includes(to);
}

function walk(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const f = path.join(dir, n);
    return statSync(f).isDirectory() ? walk(f, ext) : f.endsWith(ext) ? [f] : [];
  });
}

/** Every template, with its owner: a module's name, or null for the shared views/. */
export function templateFiles(root: string): { file: string; module: string | null }[] {
  const modulesDir = path.join(root, 'src', 'modules');
  const modules = existsSync(modulesDir)
    ? readdirSync(modulesDir).filter((m) => statSync(path.join(modulesDir, m)).isDirectory())
    : [];
  return [
    ...walk(path.join(root, 'views'), '.hbs').map((file) => ({ file, module: null })),
    ...modules.flatMap((m) => walk(path.join(modulesDir, m, 'views'), '.hbs').map((file) => ({ file, module: m }))),
  ];
}

/** Static partial includes that cross a module's boundary. */
export function templateViolations(root: string): string[] {
  const shared = new Set(
    walk(path.join(root, 'views', 'partials'), '.hbs').map((f) =>
      path.relative(path.join(root, 'views', 'partials'), f).slice(0, -4),
    ),
  );
  const out: string[] = [];
  for (const { file, module } of templateFiles(root)) {
    const src = readFileSync(file, 'utf8');
    // `{{> name}}` and `{{#> name}}`; a dynamic `{{> (lookup ...)}}` is a slot and allowed.
    for (const m of src.matchAll(/\{\{~?#?>\s*([^\s}()]+)/g)) {
      const name = m[1].replace(/^["']|["']$/g, '');
      const own = module !== null && name.startsWith(`${module}/`);
      if (own || shared.has(name)) continue;
      const where = path.relative(root, file);
      out.push(
        `${where}: includes "${name}", which is ${name.includes('/') ? `module ${name.split('/')[0]}'s` : 'not a shared partial'}; use a slot (core/slots.ts)`,
      );
    }
  }
  return out;
}

/** Relations whose foreign key runs against the module graph. */
export function schemaViolations(root: string): string[] {
  const graph = loadGraph(root);
  const dir = path.join(root, 'prisma', 'schema');
  const files = walk(dir, '.prisma');
  const owner = new Map<string, string>();
  const models: { module: string; name: string; body: string; file: string }[] = [];
  for (const f of files) {
    const module = path.basename(f, '.prisma');
    for (const m of readFileSync(f, 'utf8').matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
      owner.set(m[1], module);
      models.push({ module, name: m[1], body: m[2], file: path.relative(root, f) });
    }
  }
  const out: string[] = [];
  for (const m of models) {
    for (const line of m.body.split('\n')) {
      // The side that holds the key: `field Target? @relation(fields: [...], references: [...])`.
      const r = /^\s*\w+\s+(\w+)\??\s+@relation\((?:[^)]*\b)?fields:/.exec(line);
      if (!r) continue;
      const target = owner.get(r[1]);
      if (!target || target === m.module) continue;
      const ok = m.module !== 'core' && target !== 'core' && mayUse(graph, m.module, target);
      if (!ok)
        out.push(
          `${m.file}: ${m.name} (${m.module}) holds a foreign key to ${r[1]} (${target}), against the module graph`,
        );
    }
  }
  return out;
}

type Tree = { [key: string]: string | Tree };
const merge = (a: Tree, b: Tree): Tree => {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b))
    out[k] = typeof v === 'object' && typeof out[k] === 'object' ? merge(out[k] as Tree, v) : v;
  return out;
};

/** Every message catalog (shared and each module's), merged per language. */
export async function allMessages(root: string): Promise<{ ko: Tree; en: Tree }> {
  const dirs = [
    path.join(root, 'src', 'locales'),
    ...readdirSync(path.join(root, 'src', 'modules')).map((m) => path.join(root, 'src', 'modules', m, 'locales')),
  ];
  let ko: Tree = {};
  let en: Tree = {};
  for (const d of dirs.filter((x) => existsSync(path.join(x, 'ko.ts')))) {
    ko = merge(ko, ((await import(pathToFileURL(path.join(d, 'ko.ts')).href)) as { ko: Tree }).ko);
    en = merge(en, ((await import(pathToFileURL(path.join(d, 'en.ts')).href)) as { en: Tree }).en);
  }
  return { ko, en };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const problems = [...templateViolations(root), ...schemaViolations(root)];
  for (const p of problems) console.error(`boundaries: ${p}`);
  if (problems.length) process.exit(1);
  console.log(`boundaries: templates and schema follow module-graph.cjs (${templateFiles(root).length} templates)`);
}
