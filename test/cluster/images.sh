#!/usr/bin/env bash
# Builds the cluster's two images as one-layer docker-archive tarballs, with
# no registry: busybox from Debian's busybox-static, and a pause image from
# pause.c. The tarballs are cached in $PODTASK_CLUSTER_DIR/images and
# rebuilt only when missing. Prints nothing on stdout.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

out=$D/images
mkdir -p "$out"

# archive NAME:TAG ROOTFS CONFIG_JSON_FRAGMENT TARBALL
archive() {
  local ref=$1 rootfs=$2 cfg=$3 tarball=$4 work layer_sum cfg_sum
  work=$(mktemp -d)
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$rootfs" -cf "$work/layer.tar" .
  layer_sum=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  mkdir "$work/$layer_sum"
  mv "$work/layer.tar" "$work/$layer_sum/layer.tar"
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$cfg" "$layer_sum" >"$work/config.json"
  cfg_sum=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  mv "$work/config.json" "$work/$cfg_sum.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg_sum" "$ref" "$layer_sum" >"$work/manifest.json"
  tar --numeric-owner --owner=0 --group=0 -C "$work" -cf "$tarball.tmp" manifest.json "$cfg_sum.json" "$layer_sum"
  mv "$tarball.tmp" "$tarball"
  rm -rf "$work"
}

if [ ! -s "$out/busybox.tar" ]; then
  log "building image $BUSYBOX_IMAGE from $(command -v busybox)"
  bb=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/bin/busybox$' || command -v busybox)
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/tmp,home}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  cp "$bb" "$root/bin/busybox"
  while IFS= read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    ln -sf /bin/busybox "$root/$applet"
  done < <("$root/bin/busybox" --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  archive "$BUSYBOX_IMAGE" "$root" \
    '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}' "$out/busybox.tar"
  rm -rf "$root"
fi

if [ ! -s "$out/pause.tar" ]; then
  log "building image $PAUSE_IMAGE from pause.c"
  root=$(mktemp -d)
  gcc -static -Os -s -o "$root/pause" "$HERE/pause.c"
  archive "$PAUSE_IMAGE" "$root" '{"Entrypoint":["/pause"],"User":"65535:65535"}' "$out/pause.tar"
  rm -rf "$root"
fi
