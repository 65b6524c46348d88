#!/usr/bin/env bash
# A demo run against the local cluster: an Airflow-style task that writes
# an XCom result. Falls back to a plain smoke pod with the cluster's kubectl
# while the plugin's `run` command is not implemented.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
root=$(cd "$HERE/../.." && pwd)
plugin=${PODTASK_BIN:-$root/bin/kubectl-podtask}
export KUBECONFIG=$KUBECONFIG_FILE PATH=$D/bin:$PATH

args=(run --image "$BUSYBOX_IMAGE" --xcom --
  sh -c "mkdir -p /airflow/xcom; echo '[1,2,3,4]' > /airflow/xcom/return.json")
echo "+ kubectl-podtask ${args[*]}" >&2
errf=$(mktemp)
trap 'rm -f "$errf"' EXIT
set +e
"$plugin" "${args[@]}" 2> >(tee "$errf" >&2)
rc=$?
set -e
wait
if [ $rc -ne 0 ] && grep -qiE 'not implemented|unknown (flag|command)' "$errf"; then
  echo "kubectl-podtask run is not available yet; running a smoke pod with kubectl instead" >&2
  name=podtask-demo-$(date +%s)
  echo "+ kubectl run $name --rm -i --restart=Never --image $BUSYBOX_IMAGE -- sh -c ..." >&2
  exec kubectl run "$name" --rm -i --restart=Never --image "$BUSYBOX_IMAGE" --pod-running-timeout=60s -- \
    sh -c 'echo "hello from $(hostname) on the podtask cluster"; echo "[1,2,3,4]"'
fi
exit $rc
