#!/usr/bin/env bash
# Build Krew's own tools, kubectl-krew and validate-krew-manifest, from the
# Go module proxy into a cache outside the repository, and print the folder.
#
#   hack/krew-tools.sh            # prints e.g. ~/.cache/podtask-tools/krew-v0.4.3
#   KREW_VERSION=v0.4.3 PODTASK_TOOLS=/somewhere hack/krew-tools.sh
#
# The binaries are built once per version; later calls only print the folder.
set -euo pipefail

KREW_VERSION=${KREW_VERSION:-v0.4.3}
TOOLS=${PODTASK_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/podtask-tools}
DIR="$TOOLS/krew-$KREW_VERSION"
GO=${GO:-go}

if [[ -x "$DIR/kubectl-krew" && -x "$DIR/validate-krew-manifest" ]]; then
	echo "$DIR"
	exit 0
fi

mkdir -p "$DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
	cd "$work"
	export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
	"$GO" mod init podtask.dev/krew-tools >/dev/null 2>&1
	"$GO" get "sigs.k8s.io/krew@$KREW_VERSION" >&2
	"$GO" build -trimpath -o "$work/kubectl-krew" sigs.k8s.io/krew/cmd/krew >&2
	"$GO" build -trimpath -o "$work/validate-krew-manifest" sigs.k8s.io/krew/cmd/validate-krew-manifest >&2
)
mv "$work/kubectl-krew" "$work/validate-krew-manifest" "$DIR/"
echo "$DIR"
