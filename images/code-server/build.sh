#!/usr/bin/env bash
# Adds code-server (VS Code in the browser) to a session image: sessions of the new image
# offer "Open VS Code" (docs/images.md). Needs the distribution's package mirror and the npm
# registry; the image's Debian or Ubuntu must have Node.js 18 (Debian 12 does), as
# code-server 4.89 requires.
#
# usage: images/code-server/build.sh BASE_IMAGE NEW_IMAGE [CODE_SERVER_VERSION]
# e.g.   images/code-server/build.sh gpupool/session:pytorch1.13-cpu-debian12-runtime \
#          gpupool/session:pytorch1.13-cpu-debian12-vscode
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BASE_IMAGE NEW_IMAGE [CODE_SERVER_VERSION]" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$here/Dockerfile" "$here/install.sh" "$context/"
# The build trusts what this host trusts (a site's TLS-inspecting proxy included); the
# certificates stay in the build stage, not in the image.
cp /etc/ssl/certs/ca-certificates.crt "$context/trust.crt"
docker build --build-arg "BASE=$1" --build-arg "CODE_SERVER_VERSION=${3:-4.89.1}" \
  -t "$2" "$context"
