#!/usr/bin/env bash
# Makes sure Debian's chromium is installed at /usr/bin/chromium for the browser test
# (test/browser.test.ts drives it through playwright-core; Playwright's own browser
# download is not used). Installs it with apt-get when we are root.
set -u

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: $CHROMIUM is present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: $CHROMIUM is missing and we are not root; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium at $CHROMIUM by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# A fresh image has no package lists, so apt-cache knows no candidate until apt-get update.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  echo "ensure-chromium: the chromium package is unknown; running apt-get update"
  if ! apt-get update; then
    echo "ensure-chromium: apt-get update failed" >&2
    exit 1
  fi
fi

echo "ensure-chromium: installing Debian's chromium package (apt-get install -y chromium)"
if ! apt-get install -y chromium; then
  echo "ensure-chromium: apt-get install chromium failed" >&2
  exit 1
fi

if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
exit 1
