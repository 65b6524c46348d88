#!/usr/bin/env bash
# Cross-build kubectl-podtask for every platform Krew installs it on and pack
# each build as Krew expects: a .tar.gz (a .zip for Windows) holding the
# binary, LICENSE and the kubectl_complete-podtask completion helper. Writes
# dist/SHA256SUMS and dist/VERSION; hack/krew-manifest.sh turns them into
# plugins/podtask.yaml.
#
#   hack/dist.sh                      # what 'make dist' runs
#   VERSION=v1.2.3 hack/dist.sh       # a release; must be v + semver
#   PLATFORMS="linux/amd64" hack/dist.sh
#
# Builds are CGO-free, -trimpath, stripped and stamped with the version, the
# commit and the commit's date (not the clock), and the archives carry fixed
# owners and times: the same commit gives the same archives and sums.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
VERSION=${VERSION:-$(hack/version.sh)}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
DATE=${DATE:-$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
DIST=${DIST:-dist}
PKG=github.com/podtask-dev/kubectl-podtask

if ! [[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; then
	echo "hack/dist.sh: VERSION=$VERSION is not a 'v' + semantic version, as Krew needs (e.g. v1.2.3)" >&2
	exit 64
fi
tools="tar gzip sha256sum"
[[ $PLATFORMS == *windows* ]] && tools+=" zip"
for tool in $tools; do
	command -v "$tool" >/dev/null || { echo "hack/dist.sh: $tool is missing: install it (apt-get install $tool)" >&2; exit 69; }
done

ldflags="-s -w -X $PKG/pkg/plugin.version=$VERSION -X $PKG/pkg/plugin.commit=$COMMIT -X $PKG/pkg/plugin.date=$DATE"
rm -rf "$DIST"
mkdir -p "$DIST"
echo "$VERSION" >"$DIST/VERSION"

# One build at a time: they share the build cache, and parallel cross builds
# only fight over the cores.
for p in $PLATFORMS; do
	os=${p%/*} arch=${p#*/}
	name=kubectl-podtask_${VERSION}_${os}_${arch}
	stage=$DIST/stage/$name
	bin=kubectl-podtask
	[[ $os == windows ]] && bin=kubectl-podtask.exe
	mkdir -p "$stage"
	start=$SECONDS
	# A second try: a build cache shared with other builds running at the
	# same time can make one fail with "could not import ... (open : no such
	# file or directory)".
	for try in 1 2; do
		if CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -buildvcs=false -ldflags "$ldflags" \
			-o "$stage/$bin" ./cmd/kubectl-podtask; then
			break
		fi
		[[ $try == 1 ]] || exit 1
		echo "hack/dist.sh: $os/$arch build failed; trying once more" >&2
	done
	cp LICENSE "$stage/LICENSE"
	cp kubectl_complete-podtask "$stage/kubectl_complete-podtask"
	chmod 0755 "$stage/$bin" "$stage/kubectl_complete-podtask"
	chmod 0644 "$stage/LICENSE"
	if [[ $os == windows ]]; then
		# kubectl on Windows finds kubectl_complete-podtask.cmd through PATHEXT.
		printf '%s\r\n' '@echo off' \
			'rem Shell completion for kubectl podtask (kubectl 1.26 or newer): put this file on your PATH.' \
			'if exist "%~dp0kubectl-podtask.exe" (' \
			'  "%~dp0kubectl-podtask.exe" __complete %*' \
			') else (' \
			'  kubectl-podtask.exe __complete %*' \
			')' >"$stage/kubectl_complete-podtask.cmd"
	fi
	find "$stage" -exec touch -h -d "@$EPOCH" {} +
	if [[ $os == windows ]]; then
		(cd "$stage" && zip -q -X -D "../../$name.zip" $(ls | LC_ALL=C sort))
	else
		tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
			-C "$stage" -cf - $(cd "$stage" && ls | LC_ALL=C sort) | gzip -n -9 >"$DIST/$name.tar.gz"
	fi
	printf '%-14s %3ds %s\n' "$os/$arch" $((SECONDS - start)) "$(du -h "$stage/$bin" | cut -f1)" >&2
done
rm -rf "$DIST/stage"
(cd "$DIST" && shopt -s nullglob && sha256sum -- *.tar.gz *.zip | LC_ALL=C sort -k2 >SHA256SUMS)
cat "$DIST/SHA256SUMS"
