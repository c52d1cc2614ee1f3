# Sourced by the ensure-*.sh scripts: apt_install NAME PACKAGE... installs Debian packages as
# root, refreshing the package lists first when a fresh image has none; prints what it does and
# returns non-zero with a message saying what to do otherwise.
apt_install() {
  local name=$1
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "$name: missing $*; as root run: apt-get install -y $*" >&2
    return 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: missing $* and apt-get is not available; install them by hand" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local pkg
  for pkg in "$@"; do
    # Without package lists apt-cache knows no candidate until apt-get update.
    if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      echo "$name: the package $pkg is unknown; running apt-get update"
      apt-get update || { echo "$name: apt-get update failed" >&2; return 1; }
      break
    fi
  done
  echo "$name: installing $* (apt-get install -y --no-install-recommends $*)"
  apt-get install -y --no-install-recommends "$@" || { echo "$name: apt-get install $* failed" >&2; return 1; }
}
