/** Summarises a V8 CPU profile: share of samples by package (or app folder) and the top functions by self time. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  seconds: number;
  samples: number;
  /** [label, share 0..1] by share, descending. */
  byPackage: [string, number][];
  topFunctions: [string, number][];
  /**
   * Inclusive: each sample charged to the innermost app function on its stack (src/…), so the
   * time spent in Prisma, pg, Handlebars or i18next is named by the app code that asked for it;
   * "(no app frame) <package>" is library work no app function is on the stack of (after an
   * await, in a socket's or a timer's callback), by the package that did it.
   */
  byAppFrame: [string, number][];
  /** The server process's CPU time (user + system) and the wall time while profiled (server.ts adds them). */
  cpuMs?: number;
  wallMs?: number;
}

function packageOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native / V8 builtins)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node core (' + url.slice(5).split('/')[0] + ')';
  const src = url.indexOf('/src/');
  if (src >= 0) {
    const parts = url.slice(src + 1).split('/');
    return parts[1] === 'modules' || parts[1] === 'core'
      ? parts.slice(0, 3).join('/').replace(/\.ts$/, '')
      : parts.slice(0, 2).join('/');
  }
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

export function summariseProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const pkg = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const id of p.samples) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const label = packageOf(url, functionName);
    pkg.set(label, (pkg.get(label) ?? 0) + 1);
    const fname =
      `${functionName || '(anonymous)'} ${url ? `${packageOf(url, functionName)}:${lineNumber + 1}` : ''}`.trim();
    fns.set(fname, (fns.get(fname) ?? 0) + 1);
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const appFrame = new Map<number, string>();
  const appOf = (id: number): string => {
    const known = appFrame.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id);
    let label = '(no app frame)';
    if (n) {
      const { url, functionName, lineNumber } = n.callFrame;
      const src = url.indexOf('/src/');
      if (src >= 0 && !url.includes('node_modules/') && !url.includes('/src/generated/'))
        label = `${url.slice(src + 1)} ${functionName || '(anonymous)'}:${lineNumber + 1}`;
      else if (parent.has(id)) label = appOf(parent.get(id)!);
    }
    appFrame.set(id, label);
    return label;
  };
  const app = new Map<string, number>();
  for (const id of p.samples) {
    const n = byId.get(id);
    const fn = n?.callFrame.functionName ?? '';
    let label = fn === '(idle)' || fn === '(garbage collector)' || fn === '(program)' ? fn : appOf(id);
    // Work no app function is on the stack of (after an await, in a socket's or a timer's callback): by package.
    if (label === '(no app frame)' && n) label = `(no app frame) ${packageOf(n.callFrame.url, fn)}`;
    app.set(label, (app.get(label) ?? 0) + 1);
  }
  const total = p.samples.length || 1;
  const top = (m: Map<string, number>, k: number): [string, number][] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([l, c]) => [l, c / total]);
  return {
    seconds: (p.endTime - p.startTime) / 1e6,
    samples: p.samples.length,
    byPackage: top(pkg, 14),
    topFunctions: top(fns, 15),
    byAppFrame: top(app, 25),
  };
}
