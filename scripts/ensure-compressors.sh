#!/usr/bin/env bash
# Makes sure the xz and zstd command-line tools are installed: src/data/compressors.ts measures
# xz -9e and zstd -19 with them (gzip comes from node:zlib and needs nothing). Installs Debian's
# xz-utils and zstd with apt-get when they are missing and we are root.
set -u

missing=()
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)

report() {
  echo "ensure-compressors: $(xz --version 2>/dev/null | head -n 1 || echo 'xz missing'); $(zstd --version 2>/dev/null || echo 'zstd missing')"
}

if [ ${#missing[@]} -eq 0 ]; then
  report
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-compressors: missing ${missing[*]} and we are not root; install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-compressors: missing ${missing[*]} and apt-get is not available; install xz and zstd by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# A fresh image has no package lists, so apt-cache knows no candidate until apt-get update.
for pkg in "${missing[@]}"; do
  if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "ensure-compressors: the package $pkg is unknown; running apt-get update"
    if ! apt-get update; then
      echo "ensure-compressors: apt-get update failed" >&2
      exit 1
    fi
    break
  fi
done

echo "ensure-compressors: installing ${missing[*]} (apt-get install -y --no-install-recommends ${missing[*]})"
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  echo "ensure-compressors: apt-get install ${missing[*]} failed" >&2
  exit 1
fi

if command -v xz >/dev/null 2>&1 && command -v zstd >/dev/null 2>&1; then
  report
  exit 0
fi
echo "ensure-compressors: apt-get finished but xz or zstd is still missing" >&2
exit 1
