#!/usr/bin/env bash
# Install Debian/Ubuntu's `chromium` when it is missing (scripts/apt_install.sh: as root or with
# `sudo -n`). tests/runtime/test_serve_browser.py runs it headless on `edgecnn serve`'s page;
# CI runs this first (the test fails when CI=true and no Chromium is found).
# Exit 0: a chromium is on PATH. Exit 1: it is not, with one line saying how to get it.
set -uo pipefail
FIND='command -v chromium || command -v chromium-browser'
bash "$(dirname "$0")/apt_install.sh" chromium Chromium sh -c "$FIND" || exit 1
echo "Chromium: $(sh -c "$FIND")"
