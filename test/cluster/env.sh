#!/usr/bin/env bash
# Prints the shell lines that point kubectl and the plugin at the local
# cluster: eval "$(make cluster-env)".
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
echo "export PODTASK_CLUSTER_DIR=$D"
echo "export KUBECONFIG=$KUBECONFIG_FILE"
echo "export PATH=$D/bin:\$PATH"
