#!/bin/sh
# Fails when the GPU-memory cap library asks for a glibc symbol version newer than 2.17 (2012;
# every distribution a CUDA image is built on has it): an image with an older glibc than the
# build machine's would then not load it, and /etc/ld.so.preload skips what does not load.
set -eu
library="$1"
newest="$(objdump -T "$library" | grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -1)"
echo "$library needs glibc symbol versions up to $newest"
case "$newest" in
  GLIBC_2.[0-9] | GLIBC_2.[0-9].* | GLIBC_2.1[0-7] | GLIBC_2.1[0-7].*) exit 0 ;;
  *) echo "expected nothing newer than GLIBC_2.17"; exit 1 ;;
esac
