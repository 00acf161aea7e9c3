#!/usr/bin/env bash
# Deploys one release to one stack (run by .github/workflows/deploy.yml with the stack's deploy role,
# or by an operator with the same rights):
#   pulumi/scripts/deploy-stack.sh STACK RELEASE_TARBALL
# 1. uploads the release (+ .sha256) and the Node.js tarball the instances install to the releases bucket;
# 2. runs the release's migration step on one running worker (SSM Run Command), before any instance
#    runs the new code (expand-then-contract migrations keep the old release working meanwhile);
# 3. `pulumi up` with the new release id: new launch template versions start rolling instance refreshes
#    (checkpoints; automatic rollback when the 5xx alarm fires);
# 4. waits for both refreshes and smoke-tests the public URL (health, readiness, a page, the version).
# Needs: aws (v2), pulumi (logged in to the state backend: PULUMI_BACKEND_URL), curl, node.
set -euo pipefail
stack=${1:?usage: deploy-stack.sh STACK RELEASE_TARBALL}
tarball=${2:?usage: deploy-stack.sh STACK RELEASE_TARBALL}
here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[deploy %s] %s\n' "$stack" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -f $tarball && -f $tarball.sha256 ]] || die "no release at $tarball (+ .sha256)"
id=$(basename "$tarball" .tar.gz)
[[ $id =~ ^dapanda-[0-9A-Za-z._-]+$ ]] || die "not a release name: $id"
cd "$here"
pulumi stack select "$stack" >/dev/null
out() { pulumi stack output "$1" 2>/dev/null || true; }
bucket=$(out releasesBucket)
region=$(pulumi config get aws:region)
export AWS_REGION=$region

if [[ -n $bucket ]]; then
  log "uploading $id to s3://$bucket/releases/"
  aws s3 cp --only-show-errors "$tarball" "s3://$bucket/releases/$id.tar.gz"
  aws s3 cp --only-show-errors "$tarball.sha256" "s3://$bucket/releases/$id.tar.gz.sha256"
  node_tarball=$(pulumi config get --path dapanda:release.nodeTarball)
  if ! aws s3api head-object --bucket "$bucket" --key "tools/$node_tarball" >/dev/null 2>&1; then
    version=${node_tarball#node-}
    version=${version%-linux-x64.tar.xz}
    log "fetching $node_tarball (checked against nodejs.org's SHASUMS256.txt)"
    tmp=$(mktemp -d)
    curl -fsSL -o "$tmp/$node_tarball" "https://nodejs.org/dist/$version/$node_tarball"
    curl -fsSL -o "$tmp/SHASUMS256.txt" "https://nodejs.org/dist/$version/SHASUMS256.txt"
    (cd "$tmp" && grep " $node_tarball\$" SHASUMS256.txt >"$node_tarball.sha256" && sha256sum --quiet -c "$node_tarball.sha256") || die "Node.js checksum mismatch"
    aws s3 cp --only-show-errors "$tmp/$node_tarball.sha256" "s3://$bucket/tools/$node_tarball.sha256"
    aws s3 cp --only-show-errors "$tmp/$node_tarball" "s3://$bucket/tools/$node_tarball"
    rm -rf "$tmp"
  fi
else
  log "first deploy of $stack: no bucket yet; pulumi up creates it, then run this again"
fi

worker_asg=$(out workerAsg)
if [[ -n $worker_asg && -n $bucket ]]; then
  instance=$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$worker_asg" \
    --query "AutoScalingGroups[0].Instances[?LifecycleState=='InService'] | [0].InstanceId" --output text)
  if [[ $instance == i-* ]]; then
    log "migration step of $id on $instance"
    cmd=$(aws ssm send-command --document-name "$(out migrateDocument)" --instance-ids "$instance" \
      --parameters "release=$id" --timeout-seconds 900 --query Command.CommandId --output text)
    aws ssm wait command-executed --command-id "$cmd" --instance-id "$instance" ||
      die "migration failed: aws ssm get-command-invocation --command-id $cmd --instance-id $instance"
  else
    log "no running worker (dev asleep?): the next worker to boot runs the migration step"
  fi
fi

log "pulumi up with release $id"
pulumi config set --path dapanda:release.id "$id"
pulumi up --yes --skip-preview --policy-pack "$here/policy" --message "release $id"

# Each group refreshes when its launch template changed; wait for both (bounded).
for asg in $(out webAsg) $(out workerAsg); do
  deadline=$((SECONDS + 3600))
  while :; do
    status=$(aws autoscaling describe-instance-refreshes --auto-scaling-group-name "$asg" --max-records 1 --query 'InstanceRefreshes[0].Status' --output text)
    case $status in
      Successful | None) log "$asg: refresh ${status,,}"; break ;;
      Failed | Cancelled | RollbackSuccessful | RollbackFailed) die "$asg: instance refresh $status (see the 5xx alarm and the boot log group)" ;;
    esac
    ((SECONDS < deadline)) || die "$asg: refresh still $status after an hour"
    sleep 30
  done
done

url=$(out url)
log "smoke test $url"
for path in /healthz /readyz /; do
  curl -fsS -o /dev/null --max-time 10 --retry 5 --retry-delay 5 --retry-all-errors "$url$path" || die "$url$path failed"
done
expected=${id#dapanda-}
expected=${expected%-*}
served=$(curl -fsS -o /dev/null -D - --max-time 10 "$url/healthz" | tr -d '\r' | sed -n 's/^x-dapanda-version: *//Ip')
[[ $served == "$expected" ]] || die "the site answers with version '$served', expected $expected"
log "done: $id on $stack"
