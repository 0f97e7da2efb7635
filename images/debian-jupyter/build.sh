#!/usr/bin/env bash
# Builds gpupool's default session image offline, from Debian's mirror only:
# debootstrap a bookworm rootfs, install Jupyter Notebook, OpenSSH and CPU PyTorch inside it
# with apt, then `docker import` it with the catalog labels. The rootfs tarball is cached in
# $GPUPOOL_CACHE (default /var/cache/gpupool) so a missing image is re-imported in seconds.
#
# usage: images/debian-jupyter/build.sh [--force]
set -euo pipefail

TAG="pytorch1.13-cpu-debian12-runtime"
REF="gpupool/session:${TAG}"
MIRROR="${GPUPOOL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${GPUPOOL_CACHE:-/var/cache/gpupool}"
TARBALL="${CACHE}/session-${TAG}.tar"
DOCKER_HOST_ARG=()
[ -n "${GPUPOOL_ENGINE:-}" ] && DOCKER_HOST_ARG=(-H "${GPUPOOL_ENGINE}")

if [ "${1:-}" != "--force" ] && docker "${DOCKER_HOST_ARG[@]}" image inspect "$REF" >/dev/null 2>&1; then
  echo "image $REF present"
  exit 0
fi

if [ "${1:-}" = "--force" ] || [ ! -s "$TARBALL" ]; then
  mkdir -p "$CACHE"
  rootfs=$(mktemp -d "${CACHE}/rootfs.XXXXXX")
  cleanup() {
    for m in proc sys dev/pts dev; do umount "$rootfs/$m" 2>/dev/null || true; done
    rm -rf "$rootfs"
  }
  trap cleanup EXIT
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR"
  mount -t proc proc "$rootfs/proc"
  mount --bind /dev "$rootfs/dev"
  mount --bind /dev/pts "$rootfs/dev/pts"
  # debootstrap's --include mis-resolves some packages; apt inside the rootfs does not.
  chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update
  chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends python3 python3-notebook python3-ipykernel python3-torch \
    python3-numpy openssh-server bash less procps ca-certificates
  chroot "$rootfs" apt-get clean
  # Host keys must never be baked into an image: the session init makes fresh ones.
  rm -f "$rootfs"/etc/ssh/ssh_host_* "$rootfs"/var/lib/apt/lists/*_Packages
  for m in dev/pts dev proc; do umount "$rootfs/$m"; done
  tar -C "$rootfs" --numeric-owner -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
fi

docker "${DOCKER_HOST_ARG[@]}" import \
  --change "LABEL io.gpupool.image.tag=${TAG}" \
  --change "LABEL io.gpupool.image.framework=pytorch" \
  --change "LABEL io.gpupool.image.framework_version=1.13" \
  --change "LABEL io.gpupool.image.cuda=none" \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  "$TARBALL" "$REF"
echo "image $REF built"
