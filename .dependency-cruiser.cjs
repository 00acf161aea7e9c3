/**
 * Module boundaries. A module's index.ts is its only public face, and modules depend on each
 * other only along the allowed graph in module-graph.cjs (e.g. catalog may not import bidding):
 * - no file outside modules/<x>/ may import modules/<x>/<anything but index>
 * - modules/<x> may import only the modules module-graph.cjs lets it use; a module missing
 *   from the graph may import no module and be imported by none
 * - modules may not form cycles (through their index files or otherwise)
 * - core/ is plumbing: it never imports a business module
 */
const graph = require('./module-graph.cjs');

const names = Object.keys(graph);
const leaves = names.filter((m) => graph[m].leaf);
const alt = (list) => list.map((m) => m.replace(/[^a-z0-9-]/g, '')).join('|');

const graphRules = names.map((m) => {
  const uses = graph[m].uses === '*' ? names.filter((n) => !leaves.includes(n)) : graph[m].uses;
  const allowed = [m, ...uses.filter((u) => u !== m)];
  return {
    name: `module-graph-${m}`,
    comment: uses.length
      ? `${m} may import only ${uses.join(', ')} (module-graph.cjs).`
      : `${m} may import no other module (module-graph.cjs).`,
    severity: 'error',
    from: { path: `^src/modules/${m}/` },
    to: { path: `^src/modules/(?!(${alt(allowed)})/)[^/]+/` },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-reaching-into-other-modules',
      comment: 'Import another module only through its index.ts.',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/(?!index\\.ts$)', pathNot: '^src/modules/$1/' },
    },
    ...graphRules,
    {
      name: 'module-not-in-graph',
      comment: 'Every module has its line in module-graph.cjs before it imports or is imported.',
      severity: 'error',
      from: { path: `^src/modules/(?!(${alt(names)})/)[^/]+/` },
      to: { path: '^src/modules/([^/]+)/', pathNot: '^src/modules/$1/' },
    },
    {
      name: 'outsiders-use-module-index-only',
      comment: 'app.ts, server, cli and core use modules through their index.ts.',
      severity: 'error',
      from: { path: '^src/(?!modules/)' },
      to: { path: '^src/modules/[^/]+/(?!index\\.ts$)' },
    },
    {
      name: 'core-is-not-business',
      comment: 'core/ holds plumbing only and must not depend on business modules.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'no-module-cycles',
      comment: 'Modules form a DAG (module-graph.cjs).',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
