/**
 * The EC2 user data of web and worker instances, rendered offline from plain values so tests can
 * shellcheck it and a rehearsal can run it on a machine of its own.
 *
 * The instance provisions itself exactly like an on-prem app VM: it fetches the release tarball
 * (and the Node.js tarball) from S3, reads its secrets from Secrets Manager, writes the same
 * provision env file, and runs the release's own deploy/provision/app.sh with the units of its
 * role. Nothing secret is in the user data or the AMI. The worker also runs the release's
 * migration step: as the RDS master user (under an advisory lock) it creates the same two roles as
 * on-prem (deploy/provision/sql/roles.sql), then app.sh migrates as dapanda_migrator.
 *
 * Every rendered setting can be overridden from the environment (`: "${VAR:=value}"`), e.g. to run
 * the script against a local S3-compatible server and local secrets:
 *   DAPANDA_AWS_S3_ENDPOINT=http://127.0.0.1:4569  DAPANDA_SECRETS_SOURCE=env  DAPANDA_CLOUD_AGENTS=no
 *   DAPANDA_IMDS=no  DAPANDA_DB_TLS=no  DAPANDA_REDIS_TLS=no  (plus DAPANDA_*_PASSWORD / _SECRET values)
 * `dapanda-boot.sh migrate <release>` (installed as /usr/local/sbin/dapanda-cloud) runs only the
 * migration step for a release before an instance refresh; `DAPANDA_BOOT_LIBRARY=1` defines the
 * functions without running anything (tests).
 */
import { LOG_FILES, PROMETHEUS_CONFIG_PATH, prometheusScrapeConfig } from './agent';

export interface UserDataOptions {
  role: 'web' | 'worker';
  stack: string;
  region: string;
  domain: string;
  vpcCidr: string;
  releasesBucket: string;
  releaseId: string;
  nodeTarball: string;
  dbHost: string;
  dbName: string;
  dbMasterUser: string;
  redisHost: string;
  photosBucket: string;
  photoBaseUrl: string;
  agentConfigParameter: string;
  asgName: string;
  secrets: { session: string; dbApp: string; redis: string; dbMigrator?: string; dbMaster?: string };
}

/** EC2's limit on raw user data. */
export const USER_DATA_MAX_BYTES = 16384;

export function renderUserData(o: UserDataOptions): string {
  if (o.role === 'worker' && (!o.secrets.dbMigrator || !o.secrets.dbMaster))
    throw new Error('the worker needs the migrator and master secrets');
  const settings: [string, string, string?][] = [
    ['DAPANDA_ROLE_UNITS', o.role],
    ['DAPANDA_STACK', o.stack],
    ['DAPANDA_REGION', o.region],
    ['DAPANDA_DOMAIN', o.domain],
    ['DAPANDA_VPC_CIDR', o.vpcCidr],
    ['DAPANDA_RELEASES_BUCKET', o.releasesBucket],
    ['DAPANDA_RELEASE', o.releaseId],
    ['DAPANDA_NODE_TARBALL_NAME', o.nodeTarball],
    ['DAPANDA_DB_HOST', o.dbHost],
    ['DAPANDA_DB_PORT', '5432'],
    ['DAPANDA_DB_NAME', o.dbName],
    ['DAPANDA_DB_MASTER_USER', o.dbMasterUser],
    ['DAPANDA_REDIS_HOST', o.redisHost],
    ['DAPANDA_S3_BUCKET', o.photosBucket],
    ['DAPANDA_PHOTO_BASE_URL', o.photoBaseUrl],
    ['DAPANDA_AGENT_CONFIG', o.agentConfigParameter],
    ['DAPANDA_ASG', o.asgName],
    ['DAPANDA_SECRET_SESSION', o.secrets.session],
    ['DAPANDA_SECRET_DB_APP', o.secrets.dbApp],
    ['DAPANDA_SECRET_REDIS', o.secrets.redis],
    ['DAPANDA_SECRET_DB_MIGRATOR', o.secrets.dbMigrator ?? ''],
    ['DAPANDA_SECRET_DB_MASTER', o.secrets.dbMaster ?? ''],
    ['DAPANDA_AWS_S3_ENDPOINT', '', 'e.g. http://127.0.0.1:4569: a local S3-compatible server'],
    ['DAPANDA_AWS_SECRETS_ENDPOINT', ''],
    [
      'DAPANDA_SECRETS_SOURCE',
      'aws',
      'env: take DAPANDA_SESSION_SECRET, DAPANDA_DB_*_PASSWORD, DAPANDA_REDIS_PASSWORD from the environment',
    ],
    ['DAPANDA_CLOUD_AGENTS', 'yes', 'no: skip the SSM and CloudWatch agents'],
    ['DAPANDA_IMDS', 'yes', 'no: not on EC2 (no instance metadata, no ASG health reports)'],
    ['DAPANDA_APT', 'yes', 'no: the tools (aws, jq, psql, curl) are already installed'],
    ['DAPANDA_DB_TLS', 'yes', 'no: plain PostgreSQL connections (local rehearsal)'],
    ['DAPANDA_REDIS_TLS', 'yes'],
    ['DAPANDA_WORK', '/var/lib/dapanda-cloud'],
    ['DAPANDA_ETC', '/etc/dapanda'],
  ];
  // Values are plain names, ARNs and URLs; anything that would need quoting inside "${VAR:=...}" is refused.
  for (const [k, v] of settings)
    if (/['"$`\\{}\s]/.test(v))
      throw new Error(`user data setting ${k} has a character that needs quoting: ${JSON.stringify(v)}`);
  const header = settings.map(([k, v, why]) => `: "\${${k}:=${v}}"${why ? ` # ${why}` : ''}`);

  return `#!/bin/bash
# DAPANDA ${o.role} instance (stack ${o.stack}): rendered by pulumi/src/userdata.ts, do not edit.
set -euo pipefail
umask 022
${header.join('\n')}
${BODY.replace('@@PROMETHEUS_CONFIG_PATH@@', PROMETHEUS_CONFIG_PATH)
  .replace('@@PROMETHEUS_CONFIG@@', prometheusScrapeConfig().trimEnd())
  .replace(/@@LOG_(WEB|WORKER|BOOT)@@/g, (_m, k: string) => LOG_FILES[k.toLowerCase() as keyof typeof LOG_FILES])}`;
}

const BODY = String.raw`
log() { printf '[dapanda-cloud %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
retry() { local n=0; until "$@"; do n=$((n + 1)); ((n < 5)) || return 1; log "retrying ($n): $*"; sleep $((n * 3)); done; }

s3_args=()
[[ -n $DAPANDA_AWS_S3_ENDPOINT ]] && s3_args=(--endpoint-url "$DAPANDA_AWS_S3_ENDPOINT")
sm_args=()
[[ -n $DAPANDA_AWS_SECRETS_ENDPOINT ]] && sm_args=(--endpoint-url "$DAPANDA_AWS_SECRETS_ENDPOINT")
s3_get() { retry aws --region "$DAPANDA_REGION" "${'$'}{s3_args[@]}" s3 cp --only-show-errors "$1" "$2"; }

# secret_value ARN [JSON_KEY]: a Secrets Manager value, or one key of a JSON secret (RDS's master secret).
secret_value() {
  local v
  v=$(retry aws --region "$DAPANDA_REGION" "${'$'}{sm_args[@]}" secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text)
  if [[ -n ${'$'}{2:-} ]]; then jq -er --arg k "$2" '.[$k]' <<<"$v"; else printf '%s' "$v"; fi
}

imds() {
  local token
  token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
  curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# A failed boot takes the instance out at once: the group replaces it (and an instance refresh stops).
report_unhealthy() {
  [[ $DAPANDA_IMDS == yes ]] || return 0
  aws --region "$DAPANDA_REGION" autoscaling set-instance-health --instance-id "$(imds instance-id)" --health-status Unhealthy --no-should-respect-grace-period || true
}

install_tools() {
  [[ $DAPANDA_APT == yes ]] || return 0
  local pkgs=(awscli jq curl ca-certificates logrotate)
  [[ $DAPANDA_ROLE_UNITS == worker ]] && pkgs+=(postgresql-client-15)
  export DEBIAN_FRONTEND=noninteractive
  retry apt-get update -qq
  retry apt-get install -y -qq --no-install-recommends "${'$'}{pkgs[@]}" >/dev/null
}

install_agents() {
  [[ $DAPANDA_CLOUD_AGENTS == yes ]] || return 0
  local tmp
  tmp=$(mktemp -d)
  # Debian's AMIs carry neither agent; AWS publishes both in regional buckets (reached through the S3 endpoint).
  s3_get "s3://amazon-ssm-$DAPANDA_REGION/latest/debian_amd64/amazon-ssm-agent.deb" "$tmp/ssm.deb"
  s3_get "s3://amazoncloudwatch-agent-$DAPANDA_REGION/debian/amd64/latest/amazon-cloudwatch-agent.deb" "$tmp/cwagent.deb"
  dpkg -i "$tmp/ssm.deb" "$tmp/cwagent.deb" >/dev/null
  systemctl enable --now amazon-ssm-agent
  cat >@@PROMETHEUS_CONFIG_PATH@@ <<'EOF'
@@PROMETHEUS_CONFIG@@
EOF
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c "ssm:$DAPANDA_AGENT_CONFIG" -s
  rm -rf "$tmp"
}

read_secrets() {
  if [[ $DAPANDA_SECRETS_SOURCE == env ]]; then
    : "${'$'}{DAPANDA_SESSION_SECRET:?}" "${'$'}{DAPANDA_DB_APP_PASSWORD:?}" "${'$'}{DAPANDA_REDIS_PASSWORD:?}"
    if [[ $DAPANDA_ROLE_UNITS == worker ]]; then : "${'$'}{DAPANDA_DB_MIGRATOR_PASSWORD:?}" "${'$'}{DAPANDA_DB_MASTER_PASSWORD:?}"; fi
    return 0
  fi
  DAPANDA_SESSION_SECRET=$(secret_value "$DAPANDA_SECRET_SESSION")
  DAPANDA_DB_APP_PASSWORD=$(secret_value "$DAPANDA_SECRET_DB_APP")
  DAPANDA_REDIS_PASSWORD=$(secret_value "$DAPANDA_SECRET_REDIS")
  DAPANDA_DB_MIGRATOR_PASSWORD=
  DAPANDA_DB_MASTER_PASSWORD=
  if [[ $DAPANDA_ROLE_UNITS == worker ]]; then
    DAPANDA_DB_MIGRATOR_PASSWORD=$(secret_value "$DAPANDA_SECRET_DB_MIGRATOR")
    DAPANDA_DB_MASTER_PASSWORD=$(secret_value "$DAPANDA_SECRET_DB_MASTER" password)
  fi
}

# fetch_release ID: the release and Node.js tarballs, checked against their .sha256, and the
# release's deploy/ folder unpacked beside them. Prints the release tarball's path.
fetch_release() {
  local id=$1 dir=$DAPANDA_WORK/$1 f
  install -d -m 0700 "$dir"
  for f in "releases/$id.tar.gz" "tools/$DAPANDA_NODE_TARBALL_NAME"; do
    if [[ ! -f $dir/$(basename "$f") ]]; then
      s3_get "s3://$DAPANDA_RELEASES_BUCKET/$f.sha256" "$dir/$(basename "$f").sha256"
      s3_get "s3://$DAPANDA_RELEASES_BUCKET/$f" "$dir/$(basename "$f").partial"
      mv "$dir/$(basename "$f").partial" "$dir/$(basename "$f")"
    fi
    (cd "$dir" && sha256sum --quiet -c "$(basename "$f").sha256") || die "checksum mismatch: $f"
  done
  rm -rf "$dir/src"
  install -d -m 0700 "$dir/src"
  tar -xzf "$dir/$id.tar.gz" -C "$dir/src" --strip-components=1 "$id/deploy"
  printf '%s\n' "$dir/$id.tar.gz"
}

db_tls_files() {
  [[ $DAPANDA_DB_TLS == yes ]] || return 0
  install -d -m 0755 "$DAPANDA_ETC"
  retry curl -fsS -o "$DAPANDA_ETC/rds-ca.pem.new" "https://truststore.pki.rds.amazonaws.com/$DAPANDA_REGION/$DAPANDA_REGION-bundle.pem"
  grep -q 'BEGIN CERTIFICATE' "$DAPANDA_ETC/rds-ca.pem.new" || die "the RDS CA bundle is not PEM"
  install -m 0644 "$DAPANDA_ETC/rds-ca.pem.new" "$DAPANDA_ETC/rds-ca.pem"
  rm -f "$DAPANDA_ETC/rds-ca.pem.new"
}

# The provision env of deploy/provision/app.sh (root only: it carries the secrets).
write_provision_env() {
  local tarball=$1 node=$2 tls=no
  [[ $DAPANDA_DB_TLS == yes ]] && tls=yes
  install -d -m 0755 "$DAPANDA_ETC"
  install -m 0600 /dev/null "$DAPANDA_ETC/provision.env"
  {
    printf '%s\n' '# Written at boot by the DAPANDA user data; secrets from Secrets Manager.'
    printf "%s='%s'\n" \
      DAPANDA_DOMAIN "$DAPANDA_DOMAIN" \
      DAPANDA_LB_ADDR "$DAPANDA_VPC_CIDR" \
      DAPANDA_APP_NODES "self=127.0.0.1" \
      DAPANDA_DATA_ADDR "$DAPANDA_DB_HOST" \
      DAPANDA_MON_ADDR 127.0.0.1 \
      DAPANDA_SSH_CIDR 127.0.0.1/32 \
      DAPANDA_NODES_CIDR "$DAPANDA_VPC_CIDR" \
      DAPANDA_JOURNAL_UPLOAD no \
      DAPANDA_APP_PORT 3000 \
      DAPANDA_APP_UNITS "$DAPANDA_ROLE_UNITS" \
      DAPANDA_DB_NAME "$DAPANDA_DB_NAME" \
      DAPANDA_DB_HOST "$DAPANDA_DB_HOST" \
      DAPANDA_DB_PARAMS "$([[ $tls == yes ]] && echo sslmode=verify-full)" \
      DAPANDA_NODE_EXTRA_CA_CERTS "$([[ $tls == yes ]] && echo "$DAPANDA_ETC/rds-ca.pem")" \
      DAPANDA_REDIS_HOST "$DAPANDA_REDIS_HOST" \
      DAPANDA_REDIS_SCHEME "$([[ $DAPANDA_REDIS_TLS == yes ]] && echo rediss || echo redis)" \
      DAPANDA_STORAGE_DIR /srv/dapanda/photos \
      DAPANDA_PHOTOS_NFS no \
      DAPANDA_STORAGE s3 \
      DAPANDA_S3_BUCKET "$DAPANDA_S3_BUCKET" \
      DAPANDA_S3_REGION "$DAPANDA_REGION" \
      DAPANDA_S3_ENDPOINT "$DAPANDA_AWS_S3_ENDPOINT" \
      DAPANDA_PHOTO_BASE_URL "$DAPANDA_PHOTO_BASE_URL" \
      DAPANDA_COMPRESS_RESPONSES on \
      DAPANDA_NODE_TARBALL "$node" \
      DAPANDA_RELEASE_TARBALL "$tarball" \
      DAPANDA_RUN_MIGRATIONS "$([[ $DAPANDA_ROLE_UNITS == worker ]] && echo yes || echo no)" \
      DAPANDA_SESSION_SECRET "$DAPANDA_SESSION_SECRET" \
      DAPANDA_DB_APP_PASSWORD "$DAPANDA_DB_APP_PASSWORD" \
      DAPANDA_DB_MIGRATOR_PASSWORD "${'$'}{DAPANDA_DB_MIGRATOR_PASSWORD:-unused-on-web-instances}" \
      DAPANDA_REDIS_PASSWORD "$DAPANDA_REDIS_PASSWORD"
    # A local S3-compatible server needs keys; on EC2 the instance role signs.
    if [[ -n ${'$'}{DAPANDA_S3_ACCESS_KEY_ID:-} ]]; then
      printf "%s='%s'\n" DAPANDA_S3_ACCESS_KEY_ID "$DAPANDA_S3_ACCESS_KEY_ID" DAPANDA_S3_SECRET_ACCESS_KEY "${'$'}{DAPANDA_S3_SECRET_ACCESS_KEY:?}"
    fi
  } >"$DAPANDA_ETC/provision.env"
}

# The app logs to files the CloudWatch agent ships (the units' stdout, opened by systemd itself).
log_dropins() {
  local unit
  install -d -m 0750 /var/log/dapanda
  for unit in web worker; do
    install -d -m 0755 "/etc/systemd/system/dapanda-$unit.service.d"
    printf '[Service]\nStandardOutput=append:/var/log/dapanda/%s.log\nStandardError=inherit\n' "$unit" >"/etc/systemd/system/dapanda-$unit.service.d/cloud-logs.conf"
  done
  printf '%s %s {\n  daily\n  rotate 3\n  maxsize 200M\n  compress\n  missingok\n  notifempty\n  copytruncate\n}\n' @@LOG_WEB@@ @@LOG_WORKER@@ >/etc/logrotate.d/dapanda
}

# db_roles RELEASE_SRC: as the RDS master (not a superuser), create or update dapanda_migrator and
# dapanda_app exactly as on-prem. The master joins dapanda_migrator so it may hand it the database.
db_roles() {
  local src=$1 sslmode=disable sql
  [[ $DAPANDA_DB_TLS == yes ]] && sslmode=verify-full
  sql=$(mktemp)
  {
    printf '%s\n' '\set ON_ERROR_STOP on' 'SELECT pg_advisory_lock(7247001);' \
      "SELECT 'CREATE ROLE dapanda_migrator' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dapanda_migrator') \\gexec" \
      'GRANT dapanda_migrator TO CURRENT_USER;'
    cat "$src/deploy/provision/sql/roles.sql"
  } >"$sql"
  PGPASSWORD=$DAPANDA_DB_MASTER_PASSWORD PGSSLROOTCERT=$DAPANDA_ETC/rds-ca.pem PGCONNECT_TIMEOUT=10 retry psql -X -q \
    "host=$DAPANDA_DB_HOST port=$DAPANDA_DB_PORT dbname=$DAPANDA_DB_NAME user=$DAPANDA_DB_MASTER_USER sslmode=$sslmode" \
    -v dbname="$DAPANDA_DB_NAME" -v app_password="$DAPANDA_DB_APP_PASSWORD" -v migrator_password="$DAPANDA_DB_MIGRATOR_PASSWORD" -f "$sql" >/dev/null
  rm -f "$sql"
  log "database roles dapanda_migrator and dapanda_app are in place"
}

wait_worker() {
  local deadline=$((SECONDS + 120))
  until curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:9465/metrics; do
    ((SECONDS < deadline)) || die "the worker did not come up"
    sleep 1
  done
}

boot() {
  log "booting a $DAPANDA_ROLE_UNITS instance of stack $DAPANDA_STACK with release $DAPANDA_RELEASE"
  install_tools
  install_agents
  read_secrets
  local tarball src
  tarball=$(fetch_release "$DAPANDA_RELEASE")
  src=$DAPANDA_WORK/$DAPANDA_RELEASE/src
  db_tls_files
  write_provision_env "$tarball" "$DAPANDA_WORK/$DAPANDA_RELEASE/$DAPANDA_NODE_TARBALL_NAME"
  log_dropins
  [[ $DAPANDA_ROLE_UNITS == worker ]] && db_roles "$src"
  bash "$src/deploy/provision/app.sh" "$DAPANDA_ETC/provision.env"
  [[ $DAPANDA_ROLE_UNITS == worker ]] && wait_worker
  if [[ -f $0 ]]; then install -m 0700 "$0" /usr/local/sbin/dapanda-cloud; fi
  log "ready"
}

# migrate ID: the migration step of a release on a running worker, before the instance refresh
# that rolls it out (run through SSM Run Command by the deploy workflow).
migrate() {
  local id=$1 tarball
  [[ $DAPANDA_ROLE_UNITS == worker ]] || die "migrations run on worker instances"
  [[ $id =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad release id: $id"
  read_secrets
  tarball=$(fetch_release "$id")
  db_roles "$DAPANDA_WORK/$id/src"
  dapanda-node stage "$tarball" >/dev/null
  dapanda-node migrate "$id"
}

main() {
  install -d -m 0755 "$(dirname @@LOG_BOOT@@)"
  exec > >(tee -a @@LOG_BOOT@@) 2>&1
  case ${'$'}{1:-boot} in
    boot)
      trap 'rc=$?; ((rc == 0)) || report_unhealthy' EXIT
      boot
      ;;
    migrate) migrate "${'$'}{2:?release id}" ;;
    *) die "usage: $0 [boot | migrate RELEASE]" ;;
  esac
}

if [[ ${'$'}{DAPANDA_BOOT_LIBRARY:-0} != 1 ]]; then main "$@"; fi
`;
