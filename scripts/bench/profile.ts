/** Summarises a V8 CPU profile: share of samples by package (or app folder) and the top functions by self time. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
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
  };
}
