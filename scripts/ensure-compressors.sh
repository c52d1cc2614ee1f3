#!/usr/bin/env bash
# Makes sure the xz and zstd command-line tools are installed: src/data/compressors.ts measures
# xz -9e and zstd -19 with them (gzip comes from node:zlib and needs nothing). Installs Debian's
# xz-utils and zstd with apt-get when they are missing and we are root.
set -u
. "$(dirname "$0")/apt-install.sh"

missing=()
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install ensure-compressors "${missing[@]}" || exit 1
fi
if command -v xz >/dev/null 2>&1 && command -v zstd >/dev/null 2>&1; then
  echo "ensure-compressors: $(xz --version | head -n 1); $(zstd --version)"
  exit 0
fi
echo "ensure-compressors: apt-get finished but xz or zstd is still missing" >&2
exit 1
