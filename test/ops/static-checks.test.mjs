// Static checks of everything under deploy/, vagrant/ and scripts/: shellcheck, Vagrantfile syntax,
// promtool config/rules/alert unit tests, nginx -t on the rendered config, dashboards' PromQL.
import t from "tap";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { repo, run, need } from "./helpers.mjs";

const shellScripts = run("sh", ["-c", "ls deploy/*.sh deploy/*/*.sh deploy/provision/*.sh scripts/*.sh test/ops/*.sh test/ops/rehearsal/*.sh | sort -u"]).out.trim().split("\n");

t.test("shellcheck: every script under deploy/, scripts/ and test/ops/", (t) => {
  if (!need("shellcheck", "shellcheck")) return t.fail("shellcheck missing (apt-get install shellcheck)"), t.end();
  t.ok(shellScripts.length >= 15, `${shellScripts.length} scripts found`);
  const r = run("shellcheck", ["-x", "-S", "info", ...shellScripts]);
  t.equal(r.code, 0, r.out || "clean");
  t.end();
});

t.test("every script uses strict mode", (t) => {
  for (const f of shellScripts) {
    const text = fs.readFileSync(path.join(repo, f), "utf8");
    if (text.startsWith("#!")) t.match(text, /\nset -euo pipefail\n/, `${f} has set -euo pipefail`);
  }
  t.end();
});

t.test("Vagrantfile parses (ruby -c) and validates (vagrant validate, offline)", (t) => {
  if (!need("ruby", "ruby")) return t.fail("ruby missing"), t.end();
  for (const f of ["vagrant/Vagrantfile", "Vagrantfile"]) t.equal(run("ruby", ["-c", f]).code, 0, `${f}: Syntax OK`);
  if (run("sh", ["-c", "command -v vagrant"]).code === 0) {
    // No hypervisor here, so no usable provider: the provider blocks (virtualbox, libvirt) are only parsed.
    const r = run("vagrant", ["validate", "--ignore-provider"], { cwd: path.join(repo, "vagrant"), timeout: 60_000, env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: "1" } });
    t.match(r.out, /validated successfully/, "vagrant validate --ignore-provider");
  } else t.comment("vagrant not installed: only ruby -c ran");
  t.end();
});

t.test("Prometheus: config, rules and alert unit tests", (t) => {
  if (!need("promtool", "prometheus")) return t.fail("promtool missing"), t.end();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dpd-prom-"));
  // prometheus.yml points at /etc/prometheus/dapanda/...: check a copy pointing here.
  const cfg = fs.readFileSync(path.join(repo, "deploy/monitoring/prometheus.yml"), "utf8")
    .replaceAll("/etc/prometheus/dapanda/rules", path.join(repo, "deploy/monitoring/rules"))
    .replaceAll("/etc/prometheus/dapanda/targets", dir);
  for (const j of ["web", "worker", "node", "postgres", "redis"]) fs.writeFileSync(path.join(dir, `${j}.json`), '[{"targets":["127.0.0.1:1"]}]');
  fs.writeFileSync(path.join(dir, "prometheus.yml"), cfg);
  let r = run("promtool", ["check", "config", path.join(dir, "prometheus.yml")]);
  t.equal(r.code, 0, "promtool check config");
  r = run("promtool", ["check", "rules", "deploy/monitoring/rules/dapanda.rules.yml"]);
  t.equal(r.code, 0, "promtool check rules");
  const alerts = [...fs.readFileSync(path.join(repo, "deploy/monitoring/rules/dapanda.rules.yml"), "utf8").matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  const tests = fs.readFileSync(path.join(repo, "deploy/monitoring/tests/dapanda.rules.test.yml"), "utf8");
  for (const a of ["InstanceDown", "High5xxRatio", "HighP99Latency", "AuctionCloseLag", "QueueBacklog", "DiskWillFillIn24h", "BackupTooOld", "PostgresConnectionsSaturated"]) {
    t.ok(alerts.includes(a), `alert ${a} exists`);
  }
  for (const a of alerts) t.match(tests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `alert ${a} has a firing unit test`);
  r = run("promtool", ["test", "rules", "deploy/monitoring/tests/dapanda.rules.test.yml"]);
  t.equal(r.code, 0, r.out.trim());
  t.end();
});

t.test("Grafana dashboards: valid JSON, every query parses and uses contract metrics", (t) => {
  if (!need("promtool", "prometheus")) return t.fail("promtool missing"), t.end();
  const known = /^(http_request_duration_seconds|dapanda_[a-z_]+|process_resident_memory_bytes|nodejs_eventloop_lag_p99_seconds|node_[a-z_]+|pg_[a-z_]+|redis_[a-z_]+)$/;
  const dir = path.join(repo, "deploy/monitoring/grafana/dashboards");
  const rules = [];
  for (const f of fs.readdirSync(dir)) {
    const d = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
    t.ok(d.uid && d.panels.length >= 8, `${f}: uid and ${d.panels.length} panels`);
    for (const p of d.panels) for (const q of p.targets) {
      rules.push(q.expr);
      const bare = q.expr.replace(/\b(by|on|without)\s*\([^)]*\)/g, " ").replace(/\{[^}]*\}/g, " ").replace(/\[[^\]]*\]/g, " ");
      for (const m of bare.matchAll(/\b([a-z_][a-z0-9_]*)\b(?!\s*\()/g)) {
        t.match(m[1].replace(/_(bucket|count|sum)$/, ""), known, `${f} "${p.title}" uses known metric ${m[1]}`);
      }
    }
  }
  // promtool parses PromQL inside rule files: wrap every query as a recording rule.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dpd-dash-")), "q.yml");
  fs.writeFileSync(file, `groups:\n  - name: dashboards\n    rules:\n${rules.map((e, i) => `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(e)}\n`).join("")}`);
  const r = run("promtool", ["check", "rules", file]);
  t.equal(r.code, 0, `${rules.length} dashboard queries parse`);
  t.end();
});

t.test("nginx -t on the config rendered by deploy/ (test certificate)", (t) => {
  if (!need("nginx", "nginx")) return t.fail("nginx missing"), t.end();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dpd-nginx-"));
  const script = `
    set -euo pipefail
    . deploy/lib/common.sh; . deploy/lib/render.sh
    export DAPANDA_DOMAIN=dapanda.local DAPANDA_APP_NODES="app1=10.0.0.11 app2=10.0.0.12" DAPANDA_APP_PORT=3000
    export NGINX_USER=www-data NGINX_PID=${dir}/nginx.pid NGINX_LOG_DIR=${dir} NGINX_MIME_TYPES=/etc/nginx/mime.types
    export NGINX_TEMP_DIR=${dir}/tmp NGINX_CONF_DIR=${dir}/conf NGINX_CACHE_DIR=${dir}/cache NGINX_HTTP_PORT=80 NGINX_HTTPS_PORT=443
    export NGINX_TLS_CERT=${dir}/conf/t.crt NGINX_TLS_KEY=${dir}/conf/t.key
    mkdir -p ${dir}/conf ${dir}/tmp
    make_selfsigned_cert "$NGINX_TLS_CERT" "$NGINX_TLS_KEY" dapanda.local
    render_template deploy/nginx/nginx.conf.tmpl > ${dir}/nginx.conf
    render_template deploy/nginx/dapanda.conf.tmpl > ${dir}/conf/dapanda.conf
    cp deploy/nginx/security-headers.conf ${dir}/conf/
    app_nodes_addrs | sed 's/$/:3000/' > ${dir}/conf/upstream.nodes
    NGINX_TEST_CMD=true NGINX_RELOAD_CMD=true bash deploy/nginx/upstream.sh render
    NGINX_TEST_CMD=true NGINX_RELOAD_CMD=true bash deploy/nginx/upstream.sh down 10.0.0.11:3000
    ! NGINX_TEST_CMD=true NGINX_RELOAD_CMD=true bash deploy/nginx/upstream.sh down 10.0.0.12:3000 2>/dev/null
    cat ${dir}/conf/upstream.conf
    nginx -t -p ${dir} -e ${dir}/error.log -c ${dir}/nginx.conf`;
  const r = run("bash", ["-c", script]);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /server 10\.0\.0\.11:3000 max_fails=2 fail_timeout=10s down;/, "drained server marked down");
  t.match(r.out, /server 10\.0\.0\.12:3000 max_fails=2 fail_timeout=10s;/, "refused to drain the last server");
  t.match(r.out, /syntax is ok/);
  const conf = fs.readFileSync(path.join(dir, "conf/dapanda.conf"), "utf8");
  for (const want of [/return 301 https/, /proxy_set_header Upgrade \$http_upgrade/, /proxy_next_upstream error timeout http_502/, /client_max_body_size 110m/, /gzip on/, /proxy_cache dapanda_media/, /location = \/metrics/]) t.match(conf, want);
  t.end();
});

t.test("systemd units: hardening and contract", (t) => {
  for (const [unit, role, port] of [["dapanda-web", "web", 9464], ["dapanda-worker", "worker", 9465]]) {
    const u = fs.readFileSync(path.join(repo, `deploy/systemd/${unit}.service`), "utf8");
    for (const want of ["User=dapanda", "EnvironmentFile=/etc/dapanda/dapanda.env", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "ReadWritePaths=/srv/dapanda/photos", "Restart=on-failure", `Environment=ROLE=${role}`, `Environment=METRICS_PORT=${port}`, "ExecStart=/usr/bin/node --experimental-wasm-modules /opt/dapanda/current/dist/src/server.js"]) {
      t.ok(u.split("\n").includes(want), `${unit}: ${want}`);
    }
    t.match(u, /^TimeoutStopSec=\d+$/m, `${unit}: drain time bounded`);
  }
  const r = run("systemd-analyze", ["verify", "--man=no", ...["dapanda-backup.timer"].map((u) => `deploy/systemd/${u}`)]);
  if (r.code !== null) t.notMatch(r.out, /dapanda-backup\.timer:.*(error|Unknown)/i, "backup timer verifies");
  t.end();
});
