#!/usr/bin/env bash
# Writes the cluster's PKI and kubeconfigs under $PODTASK_CLUSTER_DIR with
# openssl: a CA, the apiserver serving certificate, client certificates for
# admin, the apiserver's kubelet client, the controller-manager, the
# scheduler and the node, a kubelet serving certificate, the front-proxy
# client, and the service-account key pair.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pki=$D/pki
mkdir -p "$pki"
cd "$pki"
name=$(node_name)
ip=$(node_ip)

openssl_q() { openssl "$@" 2>/dev/null; }

openssl_q genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
openssl_q req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=podtask-cluster-ca" -out ca.crt

# cert NAME SUBJECT EXT_USAGE [SAN]
cert() {
  local n=$1 subj=$2 usage=$3 san=${4:-}
  openssl_q genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$n.key"
  openssl_q req -new -key "$n.key" -subj "$subj" -out "$n.csr"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$usage"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$n.ext"
  openssl_q x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
    -extfile "$n.ext" -out "$n.crt"
  rm -f "$n.csr" "$n.ext"
}

cert apiserver "/CN=kube-apiserver" serverAuth \
  "IP:127.0.0.1,IP:$SERVICE_IP,IP:$ip,DNS:localhost,DNS:$name,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert kubelet-serving "/CN=$name" serverAuth "IP:$ip,IP:127.0.0.1,DNS:$name,DNS:localhost"
cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert controller-manager "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kubelet "/O=system:nodes/CN=system:node:$name" clientAuth
cert front-proxy-client "/CN=front-proxy-client" clientAuth
openssl_q genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key
openssl_q pkey -in sa.key -pubout -out sa.pub
chmod 600 ./*.key

# kubeconfig FILE CERT_NAME USER
kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: podtask
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: $(base64 -w0 <ca.crt)
users:
- name: $3
  user:
    client-certificate-data: $(base64 -w0 <"$2.crt")
    client-key-data: $(base64 -w0 <"$2.key")
contexts:
- name: $3@podtask
  context:
    cluster: podtask
    user: $3
    namespace: default
current-context: $3@podtask
EOF
  chmod 600 "$1"
}
kubeconfig "$pki/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
kubeconfig "$pki/scheduler.kubeconfig" scheduler system:kube-scheduler
kubeconfig "$pki/kubelet.kubeconfig" kubelet "system:node:$name"
kubeconfig "$KUBECONFIG_FILE.tmp" admin admin
mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
