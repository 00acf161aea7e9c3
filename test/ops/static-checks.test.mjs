// Static checks of everything under deploy/, vagrant/ and scripts/: shellcheck, Vagrantfile syntax,
// promtool config/rules/alert unit tests, nginx -t and haproxy -c on the rendered configs, dapanda-lb
// against a running HAProxy, dashboards' PromQL.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { repo, run, need } from './helpers.mjs';

// shellcheck, promtool and vagrant take a while on a loaded machine; run alone (scripts/test-ops.sh)
// the file would get tap's 30 s default, npm test gives 240 s.
t.setTimeout(240_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
// run() without blocking the event loop (the HAProxy test serves HTTP from this process meanwhile).
const spawnAsync = (cmd, args, opts = {}) =>
  new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: repo, ...opts });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });

const shellScripts = run('sh', [
  '-c',
  'ls deploy/*.sh deploy/*/*.sh scripts/*.sh test/ops/*.sh test/ops/rehearsal/*.sh | sort -u',
])
  .out.trim()
  .split('\n');

t.test('shellcheck: every script under deploy/, scripts/ and test/ops/', (t) => {
  if (!need('shellcheck', 'shellcheck')) return (t.fail('shellcheck missing (apt-get install shellcheck)'), t.end());
  t.ok(shellScripts.length >= 15, `${shellScripts.length} scripts found`);
  const r = run('shellcheck', ['-x', '-S', 'info', ...shellScripts]);
  t.equal(r.code, 0, r.out || 'clean');
  t.end();
});

t.test('every script uses strict mode', (t) => {
  for (const f of shellScripts) {
    const text = fs.readFileSync(path.join(repo, f), 'utf8');
    if (text.startsWith('#!')) t.match(text, /\nset -euo pipefail\n/, `${f} has set -euo pipefail`);
  }
  t.end();
});

t.test('Vagrantfile parses (ruby -c) and validates (vagrant validate, offline)', (t) => {
  if (!need('ruby', 'ruby')) return (t.fail('ruby missing'), t.end());
  for (const f of ['vagrant/Vagrantfile', 'Vagrantfile']) t.equal(run('ruby', ['-c', f]).code, 0, `${f}: Syntax OK`);
  if (run('sh', ['-c', 'command -v vagrant']).code === 0) {
    // No hypervisor here, so no usable provider: the provider blocks (virtualbox, libvirt) are only parsed.
    const r = run('vagrant', ['validate', '--ignore-provider'], {
      cwd: path.join(repo, 'vagrant'),
      timeout: 60_000,
      env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' },
    });
    t.match(r.out, /validated successfully/, 'vagrant validate --ignore-provider');
  } else t.comment('vagrant not installed: only ruby -c ran');
  t.end();
});

t.test('Prometheus: config, rules and alert unit tests', (t) => {
  if (!need('promtool', 'prometheus')) return (t.fail('promtool missing'), t.end());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpd-prom-'));
  // prometheus.yml points at /etc/prometheus/dapanda/...: check a copy pointing here.
  const cfg = fs
    .readFileSync(path.join(repo, 'deploy/monitoring/prometheus.yml'), 'utf8')
    .replaceAll('/etc/prometheus/dapanda/rules', path.join(repo, 'deploy/monitoring/rules'))
    .replaceAll('/etc/prometheus/dapanda/targets', dir);
  for (const j of ['web', 'worker', 'node', 'postgres', 'redis', 'haproxy'])
    fs.writeFileSync(path.join(dir, `${j}.json`), '[{"targets":["127.0.0.1:1"]}]');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), cfg);
  let r = run('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
  t.equal(r.code, 0, 'promtool check config');
  r = run('promtool', ['check', 'rules', 'deploy/monitoring/rules/dapanda.rules.yml']);
  t.equal(r.code, 0, 'promtool check rules');
  const alerts = [
    ...fs
      .readFileSync(path.join(repo, 'deploy/monitoring/rules/dapanda.rules.yml'), 'utf8')
      .matchAll(/- alert: (\w+)/g),
  ].map((m) => m[1]);
  const tests = fs.readFileSync(path.join(repo, 'deploy/monitoring/tests/dapanda.rules.test.yml'), 'utf8');
  for (const a of [
    'InstanceDown',
    'High5xxRatio',
    'HighP99Latency',
    'AuctionCloseLag',
    'QueueBacklog',
    'DiskWillFillIn24h',
    'BackupTooOld',
    'PostgresConnectionsSaturated',
  ]) {
    t.ok(alerts.includes(a), `alert ${a} exists`);
  }
  for (const a of alerts)
    t.match(
      tests,
      new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`),
      `alert ${a} has a firing unit test`,
    );
  r = run('promtool', ['test', 'rules', 'deploy/monitoring/tests/dapanda.rules.test.yml']);
  t.equal(r.code, 0, r.out.trim());
  t.end();
});

t.test('Grafana dashboards: valid JSON, every query parses and uses contract metrics', (t) => {
  if (!need('promtool', 'prometheus')) return (t.fail('promtool missing'), t.end());
  const known =
    /^(http_request_duration_seconds|dapanda_[a-z_]+|process_resident_memory_bytes|nodejs_eventloop_lag_p99_seconds|node_[a-z_]+|pg_[a-z_]+|redis_[a-z_]+)$/;
  const dir = path.join(repo, 'deploy/monitoring/grafana/dashboards');
  const rules = [];
  for (const f of fs.readdirSync(dir)) {
    const d = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    t.ok(d.uid && d.panels.length >= 8, `${f}: uid and ${d.panels.length} panels`);
    for (const p of d.panels)
      for (const q of p.targets) {
        rules.push(q.expr);
        const bare = q.expr
          .replace(/\b(by|on|without)\s*\([^)]*\)/g, ' ')
          .replace(/\{[^}]*\}/g, ' ')
          .replace(/\[[^\]]*\]/g, ' ');
        for (const m of bare.matchAll(/\b([a-z_][a-z0-9_]*)\b(?!\s*\()/g)) {
          t.match(m[1].replace(/_(bucket|count|sum)$/, ''), known, `${f} "${p.title}" uses known metric ${m[1]}`);
        }
      }
  }
  // promtool parses PromQL inside rule files: wrap every query as a recording rule.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dpd-dash-')), 'q.yml');
  fs.writeFileSync(
    file,
    `groups:\n  - name: dashboards\n    rules:\n${rules.map((e, i) => `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(e)}\n`).join('')}`,
  );
  const r = run('promtool', ['check', 'rules', file]);
  t.equal(r.code, 0, `${rules.length} dashboard queries parse`);
  t.end();
});

// The lb's variables as lb.sh sets them, with directories under DIR.
const lbEnv = (dir) => `
    . deploy/lib/common.sh; . deploy/lib/render.sh
    export DAPANDA_DOMAIN=dapanda.local DAPANDA_APP_NODES="app1=10.0.0.11 app2=10.0.0.12" DAPANDA_APP_PORT=3000 DAPANDA_ADMIN_CIDR=10.0.0.0/24
    export NGINX_USER=www-data NGINX_PID=${dir}/nginx.pid NGINX_LOG_DIR=${dir} NGINX_MIME_TYPES=/etc/nginx/mime.types
    export NGINX_TEMP_DIR=${dir}/tmp NGINX_CONF_DIR=${dir}/conf NGINX_CACHE_DIR=${dir}/cache NGINX_HTTP_PORT=80 NGINX_HTTPS_PORT=443
    export NGINX_TLS_CERT=${dir}/conf/t.crt NGINX_TLS_KEY=${dir}/conf/t.key NGINX_ADMIN_PORT=8443 NGINX_ADMIN_ALLOW=$DAPANDA_ADMIN_CIDR
    export HAPROXY_PORT=8080 HAPROXY_INTERNAL_PORT=8081 HAPROXY_LOG_TARGET=/dev/log HAPROXY_CHROOT=/var/lib/haproxy
    export HAPROXY_SOCKET=${dir}/admin.sock HAPROXY_STATE_FILE=${dir}/server-state HAPROXY_METRICS_BIND=127.0.0.1:8405`;

t.test('nginx -t on the config rendered by deploy/ (test certificate)', (t) => {
  if (!need('nginx', 'nginx')) return (t.fail('nginx missing'), t.end());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpd-nginx-'));
  const script = `
    set -euo pipefail
    ${lbEnv(dir)}
    mkdir -p ${dir}/conf ${dir}/tmp
    make_selfsigned_cert "$NGINX_TLS_CERT" "$NGINX_TLS_KEY" dapanda.local
    render_template deploy/nginx/nginx.conf.tmpl > ${dir}/nginx.conf
    render_template deploy/nginx/dapanda.conf.tmpl > ${dir}/conf/dapanda.conf
    cp deploy/nginx/security-headers.conf deploy/nginx/proxy-headers.conf ${dir}/conf/
    nginx -t -p ${dir} -e ${dir}/error.log -c ${dir}/nginx.conf`;
  const r = run('bash', ['-c', script]);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /syntax is ok/);
  const conf = fs.readFileSync(path.join(dir, 'conf/dapanda.conf'), 'utf8');
  for (const want of [
    /return 301 https/,
    /proxy_set_header Upgrade \$http_upgrade/,
    /server 127\.0\.0\.1:8080;/,
    /client_max_body_size 110m/,
    /gzip on/,
    /proxy_cache dapanda_media/,
    /location = \/metrics/,
    /proxy_hide_header X-Dapanda-Version/,
    /listen 8443 ssl/,
    /allow 10\.0\.0\.0\/24;\n\s*deny all;/,
  ])
    t.match(conf, want);
  // Every location that sets its own proxy headers includes the shared ones again (nginx drops inherited ones).
  for (const loc of conf.split(/\n\s*location /).slice(1)) {
    if (/proxy_set_header/.test(loc))
      t.match(loc, /include .*proxy-headers\.conf/, `location ${loc.split('{')[0].trim()} keeps X-Forwarded-For`);
  }
  t.notMatch(conf, /upstream\.conf/, 'no reloaded upstream list any more');
  t.end();
});

// HAProxy from the rendered config, run as this user (user/group/chroot dropped), in front of two tiny
// upstreams: dapanda-lb drains, refuses to drain the last server in service, waits for in-flight
// requests, brings a server back, and a drained server stays drained across an HAProxy restart.
t.test('HAProxy config (haproxy -c) and dapanda-lb against a running HAProxy', async (t) => {
  if (!need('haproxy', 'haproxy') || !need('socat', 'socat')) return (t.fail('haproxy/socat missing'), t.end());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dpd-haproxy-'));
  let r = run('bash', ['-c', `set -euo pipefail; ${lbEnv(dir)}; render_haproxy_cfg deploy/haproxy/haproxy.cfg.tmpl`]);
  t.equal(r.code, 0, 'rendered');
  const cfg = r.stdout;
  t.match(cfg, /server app1 10\.0\.0\.11:3000\n/);
  t.match(cfg, /server app2 10\.0\.0\.12:3000 track dapanda_app\/app2/);
  t.match(cfg, /http-request disable-l7-retry unless METH_GET/, 'POSTs are never replayed');
  fs.writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
  r = run('haproxy', ['-c', '-q', '-f', path.join(dir, 'haproxy.cfg')]);
  t.equal(r.code, 0, `haproxy -c: ${r.out.trim() || 'valid'}`);

  const http = await import('node:http');
  const ports = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const [p1, p2, front, internal, metrics] = ports;
  const ups = [p1, p2].map((p) =>
    http
      .createServer((req, res) => setTimeout(() => res.end('ok'), req.url === '/slow' ? 1500 : 0))
      .listen(p, '127.0.0.1'),
  );
  t.teardown(() => ups.forEach((u) => u.close()));
  const local = cfg
    .replace(/^ {2}(user|group|chroot) .*\n/gm, '')
    .replace('log /dev/log', 'log stderr format raw')
    .replace('10.0.0.11:3000', `127.0.0.1:${p1}`)
    .replace('10.0.0.12:3000', `127.0.0.1:${p2}`)
    .replaceAll('10.0.0.11:3000', `127.0.0.1:${p1}`)
    .replaceAll('10.0.0.12:3000', `127.0.0.1:${p2}`)
    .replace('127.0.0.1:8080', `127.0.0.1:${front}`)
    .replace('127.0.0.1:8081', `127.0.0.1:${internal}`)
    .replace('127.0.0.1:8405', `127.0.0.1:${metrics}`);
  fs.writeFileSync(path.join(dir, 'local.cfg'), local);
  const start = () => spawn('haproxy', ['-W', '-f', path.join(dir, 'local.cfg')], { stdio: 'ignore' });
  let hap = start();
  t.teardown(() => hap.kill('SIGKILL'));
  const env = {
    ...process.env,
    HAPROXY_SOCKET: path.join(dir, 'admin.sock'),
    HAPROXY_STATE_FILE: path.join(dir, 'server-state'),
  };
  const lb = (...args) => spawnAsync('bash', ['deploy/haproxy/dapanda-lb.sh', ...args], { env });
  const waitFor = async (fn) => {
    for (let i = 0; i < 100; i++) {
      if (await fn()) return true;
      await sleep(100);
    }
    return false;
  };
  t.ok(
    await waitFor(async () =>
      /app1 +127\.0\.0\.1:\d+ +up +ready[\s\S]*app2 +127\.0\.0\.1:\d+ +up +ready/.test((await lb('status')).out),
    ),
    'both servers up (health checks) and ready',
  );

  const a1 = `127.0.0.1:${p1}`,
    a2 = `127.0.0.1:${p2}`;
  const inflight = fetch(`http://127.0.0.1:${front}/slow`).then((x) => x.status);
  await sleep(200);
  t.equal((await lb('down', a1)).code, 0, 'drain app1');
  const refused = await lb('down', a2);
  t.not(refused.code, 0, 'draining the last server in service is refused');
  t.match(refused.out, /refusing to drain/);
  t.equal((await lb('wait-drained', a1, '10')).code, 0, "wait-drained returns once app1's requests are done");
  t.match(await inflight.catch(String), 200, 'the request in flight finished');
  const r2 = await Promise.all(
    Array.from({ length: 6 }, () =>
      fetch(`http://127.0.0.1:${internal}/`).then((x) => x.headers.get('x-dapanda-node')),
    ),
  );
  t.same([...new Set(r2)], ['app2'], 'a drained server gets no new request; the internal frontend names the node');
  t.equal(
    (await fetch(`http://127.0.0.1:${front}/`)).headers.get('x-dapanda-node'),
    null,
    'the public frontend does not',
  );

  hap.kill('SIGTERM');
  await new Promise((res) => hap.once('exit', res));
  hap = start();
  t.ok(
    await waitFor(async () => /app1 .* drain/.test((await lb('status')).out)),
    'still drained after an HAProxy restart (server-state file)',
  );
  t.equal((await lb('up', a1, '10')).code, 0, 'back in service once health checks pass');
  t.match((await lb('status')).out, /app1 +127\.0\.0\.1:\d+ +up +ready/);
  t.match(
    await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text(),
    /haproxy_server_status/,
    'Prometheus exporter',
  );
});

t.test('systemd units: hardening and contract', (t) => {
  for (const [unit, role, port] of [
    ['dapanda-web', 'web', 9464],
    ['dapanda-worker', 'worker', 9465],
  ]) {
    const u = fs.readFileSync(path.join(repo, `deploy/systemd/${unit}.service`), 'utf8');
    for (const want of [
      'User=dapanda',
      'EnvironmentFile=/etc/dapanda/dapanda.env',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'ReadWritePaths=/srv/dapanda/photos',
      'Restart=on-failure',
      `Environment=ROLE=${role}`,
      `Environment=METRICS_PORT=${port}`,
      'ExecStart=/usr/bin/node --experimental-wasm-modules /opt/dapanda/current/dist/src/server.js',
    ]) {
      t.ok(u.split('\n').includes(want), `${unit}: ${want}`);
    }
    t.match(u, /^TimeoutStopSec=\d+$/m, `${unit}: drain time bounded`);
  }
  const r = run('systemd-analyze', [
    'verify',
    '--man=no',
    ...['dapanda-backup.timer'].map((u) => `deploy/systemd/${u}`),
  ]);
  if (r.code !== null) t.notMatch(r.out, /dapanda-backup\.timer:.*(error|Unknown)/i, 'backup timer verifies');
  t.end();
});
