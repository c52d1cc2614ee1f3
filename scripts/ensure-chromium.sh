#!/usr/bin/env bash
# Makes sure Debian's chromium is installed at /usr/bin/chromium for the browser test
# (test/browser.test.ts drives it through playwright-core; Playwright's own browser
# download is not used). Installs it with apt-get when we are root.
set -u
. "$(dirname "$0")/apt-install.sh"

CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
  apt_install ensure-chromium chromium || exit 1
fi
if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: $CHROMIUM is present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
exit 1
