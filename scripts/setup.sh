#!/usr/bin/env bash
# Sets up a Debian 12 machine (as root) to build, run and test gpupool; safe to run again.
#   1. installs the Debian packages gpupool needs, if any is missing
#   2. makes sure a container engine answers (starts dockerd if none does)
#   3. builds the default session image if the engine lacks it (mostly downloads and
#      unpacking: it runs while step 4 compiles)
#   4. builds build/gpupool (CMake + Ninja), with the portal's npm packages (web/package.json)
# Set GPUPOOL_SKIP_IMAGE=1 to skip step 3.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev
  libsqlite3-dev libpq-dev libsodium-dev libssl-dev libspdlog-dev libfmt-dev libcli11-dev
  libcurl4-openssl-dev libldap-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev
  docker.io debootstrap openssh-client curl ca-certificates
  python3 python3-pytest python3-pytest-timeout python3-websocket python3-requests
  openssl
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
# The portal's chart library comes from npm; a machine with its own node and npm keeps them.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

engine_answers() {
  curl -sf --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1 ||
    curl -sf --unix-socket /run/podman/podman.sock http://localhost/_ping >/dev/null 2>&1
}
if ! engine_answers; then
  echo "setup: starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/gpupool-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do engine_answers && break; sleep 1; done
  engine_answers || { echo "setup: dockerd did not start; see /var/log/gpupool-dockerd.log" >&2; exit 1; }
fi

image_build=""
if [ "${GPUPOOL_SKIP_IMAGE:-0}" != 1 ]; then
  mkdir -p build
  images/debian-jupyter/build.sh >build/image-build.log 2>&1 &
  image_build=$!
fi

[ -f web/node_modules/uplot/dist/uPlot.esm.js ] || npm ci --prefix web --no-audit --no-fund
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build gpupool

if [ -n "$image_build" ]; then
  if ! wait "$image_build"; then
    tail -40 build/image-build.log
    echo "setup: building the session image failed; all of it is in build/image-build.log" >&2
    exit 1
  fi
  tail -1 build/image-build.log
fi
