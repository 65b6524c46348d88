#!/usr/bin/env bash
# Brings up the local single-node Kubernetes cluster under
# $PODTASK_CLUSTER_DIR (default /tmp/podtask-cluster). Idempotent: a healthy
# running cluster is reused; leftovers of a killed one are cleaned up first.
# Exits non-zero, with the tail of every component log, when the cluster is
# not up within $PODTASK_CLUSTER_TIMEOUT seconds (default 120) once the
# binaries exist. Must run as root.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BOUND=${PODTASK_CLUSTER_TIMEOUT:-120}
NAME=$(node_name)
IP=$(node_ip)
PKI=$D/pki

if [ "$(id -u)" != 0 ]; then
  echo "up.sh: the local cluster needs root (containerd, mounts, cgroups, a bridge)" >&2
  exit 1
fi

apiserver_ready() {
  [ -f "$PKI/admin.crt" ] || return 1
  [ "$(curl -fsS --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    https://127.0.0.1:6443/readyz 2>/dev/null)" = ok ]
}

kc() { "$D/bin/kubectl" --kubeconfig "$KUBECONFIG_FILE" --request-timeout=5s "$@"; }

node_ready() {
  [ "$(kc get node "$NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
  [ -x "$D/bin/kubectl" ] && [ -f "$KUBECONFIG_FILE" ] && apiserver_ready && node_ready
}

# A busy machine can make one health check time out: ask three times before
# tearing a running cluster down.
if healthy || { sleep 2 && healthy; } || { sleep 5 && healthy; }; then
  log "reusing the running cluster at $D (apiserver ready, node $NAME Ready)"
  exit 0
fi

# --- packages ---------------------------------------------------------------
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v ctr >/dev/null || need+=(containerd)
[ -x /usr/sbin/runc ] || need+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || need+=(containernetworking-plugins)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v openssl >/dev/null || need+=(openssl)
command -v ip >/dev/null || need+=(iproute2)
command -v curl >/dev/null || need+=(curl)
command -v gcc >/dev/null || need+=(gcc)
dpkg -s libc6-dev >/dev/null 2>&1 || need+=(libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- binaries ---------------------------------------------------------------
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
cache_root=${PODTASK_BIN_CACHE:-$HOME/.cache/podtask-cluster}
mkdir -p "$cache_root"
bindir=$(flock "$cache_root/.lock" "$HERE/build.sh")/bin

# --- clean up after a previous (possibly killed) run ------------------------
start=$SECONDS
deadline=$((SECONDS + BOUND))
teardown
if [ -d "$D" ]; then
  find "$D" -mindepth 1 -maxdepth 1 ! -name images -exec rm -rf {} +
fi
mkdir -p "$D"/{bin,logs,run,config,etcd,kubelet,pod-logs,cni/net.d,cni/ipam,containerd/certs.d}
for b in k8s kubectl etcd; do ln -sf "$bindir/$b" "$D/bin/$b"; done

fail() {
  local f
  echo "up.sh: $*" >&2
  for f in "$D"/logs/*.log; do
    [ -f "$f" ] || continue
    echo "----- last 20 lines of $f" >&2
    tail -n 20 "$f" >&2
  done
  echo "up.sh: the cluster is not up; 'make cluster-down' cleans up, 'make cluster' retries" >&2
  exit 1
}

# wait_for DESCRIPTION COMMAND... polls COMMAND until it succeeds or the
# start bound is used up; it gives up early when a started component died.
started=()
wait_for() {
  local what=$1 c
  shift
  until "$@" >/dev/null 2>&1; do
    # A daemon this script just started is known by its PID alone: for a
    # moment after launch it is still the forked shell, whose command line
    # pid_of would not recognise.
    for c in "${started[@]}"; do
      live "$(cat "$D/run/$c.pid" 2>/dev/null)" || fail "$c exited while waiting for $what"
    done
    [ $SECONDS -lt $deadline ] || fail "timed out after ${BOUND}s waiting for $what"
    sleep 0.3
  done
}

# launch NAME COMMAND... starts a detached daemon logging to logs/NAME.log.
launch() {
  local name=$1
  shift
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
    done
    exec setsid nohup "$@"
  ) </dev/null >>"$D/logs/$name.log" 2>&1 &
  echo $! >"$D/run/$name.pid"
  started+=("$name")
}

# --- configuration ----------------------------------------------------------
"$HERE/images.sh"
"$HERE/pki.sh"

for host in _default docker.io registry.k8s.io; do
  mkdir -p "$D/containerd/certs.d/$host"
  cat >"$D/containerd/certs.d/$host/hosts.toml" <<'EOF'
# No registry is reachable from the test cluster: every pull goes to a
# closed loopback port and fails fast.
server = "http://127.0.0.1:1"

[host."http://127.0.0.1:1"]
  capabilities = ["pull", "resolve"]
EOF
done

cat >"$D/config/containerd.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "$CTR_SOCK"

[ttrpc]
  address = "$CTR_SOCK.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
        Root = "$D/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$D/containerd/certs.d"
EOF

cat >"$D/cni/net.d/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$D/cni/ipam"
      }
    }
  ]
}
EOF

cat >"$D/config/audit-policy.yaml" <<'EOF'
# One entry per request (at ResponseComplete; long-running requests such as
# watches, logs and exec are logged when they end), Metadata level, with the
# user agent and request URI. Node heartbeats, leases, the components' own
# events and health probes are left out.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: None
  resources:
  - group: coordination.k8s.io
    resources: ["leases"]
- level: None
  userGroups: ["system:nodes"]
  resources:
  - group: ""
    resources: ["nodes", "nodes/status", "events"]
  - group: events.k8s.io
    resources: ["events"]
- level: None
  users: ["system:kube-controller-manager", "system:kube-scheduler"]
  userGroups: ["system:serviceaccounts:kube-system"]
  resources:
  - group: ""
    resources: ["events"]
  - group: events.k8s.io
    resources: ["events"]
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*"]
- level: Metadata
EOF

resolv=/etc/resolv.conf
[ -f "$resolv" ] || resolv=""
cat >"$D/config/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $IP
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CTR_SOCK
podLogsDir: $D/pod-logs
serializeImagePulls: false
rotateCertificates: false
# Large enough that the big-log tests and benchmarks (1,000,000 lines) never
# rotate mid-stream: a kubelet following a log across a fast rotation can
# skip lines, for kubectl logs -f as for any client.
containerLogMaxSize: 200Mi
resolvConf: "$resolv"
clusterDomain: cluster.local
# No CoreDNS runs here. Pointing pods at the bridge's own address (nothing
# listens on :53) makes lookups fail fast and spares every pod a
# MissingClusterDNS warning event.
clusterDNS: ["${POD_SUBNET%.*}.1"]
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
maxPods: 50
nodeStatusUpdateFrequency: 4s
EOF

# --- start ------------------------------------------------------------------
log "starting containerd"
launch containerd containerd --config "$D/config/containerd.toml"
wait_for "containerd" ctr -a "$CTR_SOCK" version
for img in pause busybox; do
  ctr -a "$CTR_SOCK" -n k8s.io images import "$D/images/$img.tar" >>"$D/logs/images.log" 2>&1 ||
    fail "importing $D/images/$img.tar failed (see $D/logs/images.log)"
done

log "starting etcd"
launch etcd "$D/bin/etcd" --name podtask --data-dir "$D/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster podtask=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
  --unsafe-no-fsync --log-level warn
wait_for "etcd health" curl -fsS --max-time 2 http://127.0.0.1:2379/health

log "starting kube-apiserver"
launch kube-apiserver "$D/bin/k8s" kube-apiserver \
  --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=127.0.0.1 --secure-port=6443 --advertise-address="$IP" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range="$SERVICE_RANGE" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --requestheader-client-ca-file="$PKI/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --audit-policy-file="$D/config/audit-policy.yaml" --audit-log-path="$D/audit.log" \
  --audit-log-format=json --audit-log-maxsize=500 --audit-log-maxbackup=1 \
  --profiling=false
wait_for "kube-apiserver /readyz" apiserver_ready

log "starting kube-controller-manager, kube-scheduler, kubelet"
launch kube-controller-manager "$D/bin/k8s" kube-controller-manager \
  --kubeconfig="$PKI/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$PKI/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --profiling=false
launch kube-scheduler "$D/bin/k8s" kube-scheduler \
  --kubeconfig="$PKI/scheduler.kubeconfig" \
  --authentication-kubeconfig="$PKI/scheduler.kubeconfig" \
  --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false
launch kubelet "$D/bin/k8s" kubelet \
  --config="$D/config/kubelet.yaml" --kubeconfig="$PKI/kubelet.kubeconfig" \
  --root-dir="$D/kubelet" --hostname-override="$NAME" --node-ip="$IP"

wait_for "node $NAME Ready" node_ready
log "node $NAME Ready"
wait_for "serviceaccount/default" kc get serviceaccount default -n default
# Every pod mounts this config map (service-account token volume).
wait_for "configmap/kube-root-ca.crt" kc get configmap kube-root-ca.crt -n default

log "cluster up in $((SECONDS - start))s (node $NAME, $IP)"
log "  export KUBECONFIG=$KUBECONFIG_FILE PATH=$D/bin:\$PATH   (or: eval \"\$(make cluster-env)\")"
