/**
 * Module boundaries (../shared/CONVENTIONS.md §2): a module's index.ts is its only public face.
 * - no file outside modules/<x>/ may import modules/<x>/<anything but index>
 * - modules may not form cycles (through their index files or otherwise)
 * - core/ is plumbing: it never imports a business module
 */
module.exports = {
  forbidden: [
    {
      name: 'no-reaching-into-other-modules',
      comment: "Import another module only through its index.ts.",
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/(?!index\\.ts$)', pathNot: '^src/modules/$1/' },
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
      comment: 'Modules form a DAG: accounts <- catalog, wallet <- bidding <- orders ...',
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
