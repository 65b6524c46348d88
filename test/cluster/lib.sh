# Shared definitions of the local test cluster, sourced by up.sh, down.sh,
# env.sh and demo.sh. Everything the cluster writes lives under $D.
# shellcheck shell=bash

D=${PODTASK_CLUSTER_DIR:-/tmp/podtask-cluster}
case $D in /*) ;; *) D=$(pwd)/$D ;; esac
D=${D%/}
if [ -z "$D" ] || [ "$D" = / ]; then
  echo "PODTASK_CLUSTER_DIR must name a directory other than /" >&2
  exit 1
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBECONFIG_FILE=$D/kubeconfig
CTR_SOCK=$D/containerd/containerd.sock
BRIDGE=podtask0
CNI_NETWORK=podtask
POD_SUBNET=10.244.0.0/24
SERVICE_RANGE=10.96.0.0/16
SERVICE_IP=10.96.0.1
BUSYBOX_IMAGE=docker.io/library/busybox:1.35
PAUSE_IMAGE=registry.k8s.io/pause:3.10
# Start order; teardown walks it backwards.
COMPONENTS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet)

T0=$(date +%s%N)
log() { printf '[cluster %5.1fs] %s\n' "$((($(date +%s%N) - T0) / 1000000))e-3" "$*" >&2; }

# node_name and node_ip describe this machine as the cluster sees it.
node_name() { hostname | tr '[:upper:]' '[:lower:]'; }
node_ip() {
  local ip
  ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
  echo "${ip:-127.0.0.1}"
}

# pid_of NAME prints the pid recorded for a component if that process is
# still alive and still runs a command line mentioning the state dir.
pid_of() {
  local f=$D/run/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "$D/" || return 1
  echo "$pid"
}

# live PID tells whether a process exists and is not a zombie (this
# machine's init reaps orphans only every few seconds).
live() {
  local st
  st=$( { cat "/proc/$1/stat"; } 2>/dev/null) || return 1
  st=${st##*) }
  [ "${st%% *}" != Z ]
}

# stop_pid PID SECONDS sends SIGTERM, waits up to SECONDS, then SIGKILL.
stop_pid() {
  local pid=$1 bound=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < bound * 10; i++)); do
    live "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid did not stop in ${bound}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    live "$pid" || return 0
    sleep 0.1
  done
}

stop_component() {
  local pid t0=$SECONDS
  if pid=$(pid_of "$1"); then
    stop_pid "$pid" "${2:-10}"
    log "stopped $1 (pid $pid) in $((SECONDS - t0))s"
  fi
  rm -f "$D/run/$1.pid"
}

# stray_pids prints cluster processes whose pid file was lost (a killed
# run): the components and containerd shims whose command line mentions the
# state dir.
stray_pids() {
  local p cmd argv0
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    cmd=$( { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null) || continue
    argv0=${cmd%% *}
    case ${argv0##*/} in
      k8s | etcd | containerd | containerd-shim*) ;;
      *) continue ;;
    esac
    case $cmd in *"$D/"*) echo "$p" ;; esac
  done
}

# foreign_pids prints cluster component processes of another state dir:
# the bridge, the kubepods cgroups and the ports are per machine, so only
# one cluster can run at a time.
foreign_pids() {
  local p cmd argv0
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    cmd=$( { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null) || continue
    argv0=${cmd%% *}
    case ${argv0##*/} in k8s | etcd) ;; *) continue ;; esac
    case $cmd in *"$D/"*) ;; *) echo "$p" ;; esac
  done
}

# cgroup_roots prints every mounted cgroup hierarchy (v1 and v2).
cgroup_roots() { awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts; }

# kill_pod_processes SIGKILLs whatever still runs in the kubepods cgroups.
kill_pod_processes() {
  local root f pid
  for root in $(cgroup_roots); do
    [ -d "$root/kubepods" ] || continue
    while IFS= read -r f; do
      while IFS= read -r pid; do
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
      done <"$f"
    done < <(find "$root/kubepods" -name cgroup.procs 2>/dev/null)
  done
}

remove_pod_cgroups() {
  local root d
  for root in $(cgroup_roots); do
    [ -d "$root/kubepods" ] || continue
    # Deepest first: a cgroup directory can only go once it has no children.
    while IFS= read -r d; do
      rmdir "$d" 2>/dev/null || true
    done < <(find "$root/kubepods" -depth -type d 2>/dev/null)
  done
}

# state_mounts prints mount points under the state dir, deepest first.
state_mounts() {
  awk -v d="$D" '{ m = $5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' /proc/self/mountinfo |
    awk '{ print gsub("/", "/") "\t" $0 }' | sort -rn | cut -f2- | uniq
}

unmount_state() {
  local m i
  for i in 1 2 3; do
    while IFS= read -r m; do
      [ -n "$m" ] && umount -l "$m" 2>/dev/null || true
    done < <(state_mounts)
    [ -z "$(state_mounts)" ] && return 0
  done
}

# containerd_clear kills and deletes every task and container in the k8s.io
# namespace while containerd still answers.
containerd_clear() {
  [ -S "$CTR_SOCK" ] || return 0
  local ctr=(timeout 10 ctr -a "$CTR_SOCK" -n k8s.io) id ids
  ids=$("${ctr[@]}" tasks ls -q 2>/dev/null) || return 0
  for id in $ids; do "${ctr[@]}" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  for id in $ids; do "${ctr[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true; done
  for id in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    "${ctr[@]}" containers delete "$id" >/dev/null 2>&1 || true
  done
}

# teardown stops everything this cluster runs and removes what it left in
# the system: processes, mounts, the bridge, cgroups, containerd's fixed
# runtime folders. The state dir itself is left to the caller.
teardown() {
  local i foreign
  foreign=$(foreign_pids)
  if [ -n "$foreign" ]; then
    echo "another local cluster is running (pids $(echo $foreign)): stop it with its own" \
      "PODTASK_CLUSTER_DIR and 'make cluster-down' first" >&2
    return 1
  fi
  for ((i = ${#COMPONENTS[@]} - 1; i >= 1; i--)); do
    stop_component "${COMPONENTS[$i]}" 15
    [ "${COMPONENTS[$i]}" = kubelet ] && containerd_clear
  done
  containerd_clear
  stop_component containerd 15
  local p
  for p in $(stray_pids); do
    log "stopping stray process $p: $( { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | cut -c1-120)"
    stop_pid "$p" 5
  done
  kill_pod_processes
  unmount_state
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE" 2>/dev/null || true
  remove_pod_cgroups
  # libcni caches results outside any configurable folder in containerd 1.6.
  local r id
  for r in /var/lib/cni/results/"$CNI_NETWORK"-*; do
    [ -e "$r" ] || continue
    id=${r#/var/lib/cni/results/"$CNI_NETWORK"-}
    id=${id%-*}
    rm -f "$r" "/var/lib/cni/results/cni-loopback-$id-lo"
  done
  rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
  rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null || true
}
