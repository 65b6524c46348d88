#!/usr/bin/env bash
# Stops the local cluster and leaves nothing behind: processes (reverse start
# order, bounded wait, then SIGKILL), containerd tasks and containers,
# mounts under the state dir, the CNI bridge, kubepods cgroups, containerd's
# fixed runtime folders, and the state dir except its cached image tarballs
# (PURGE=1 removes those too).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
  echo "down.sh: needs root" >&2
  exit 1
fi
teardown
if [ -d "$D" ]; then
  if [ "${PURGE:-0}" = 1 ]; then
    rm -rf "$D"
  else
    find "$D" -mindepth 1 -maxdepth 1 ! -name images -exec rm -rf {} +
  fi
fi
left=$(state_mounts; stray_pids)
if [ -n "$left" ]; then
  echo "down.sh: still left behind: $left" >&2
  exit 1
fi
log "cluster at $D stopped"
