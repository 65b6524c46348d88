#!/usr/bin/env bash
# Print the release version of the tree: the vMAJOR.MINOR.PATCH tag on HEAD,
# or, between releases, a pre-release of the next version that names the
# commit (v0.1.0-dev.g1a2b3c4). Krew needs a 'v' and semantic versioning.
set -euo pipefail
NEXT=${NEXT_VERSION:-v0.1.0}
if tag=$(git describe --tags --exact-match --match 'v[0-9]*.[0-9]*.[0-9]*' HEAD 2>/dev/null); then
	echo "$tag"
elif commit=$(git rev-parse --short=7 HEAD 2>/dev/null); then
	echo "$NEXT-dev.g$commit"
else
	echo "$NEXT-dev"
fi
