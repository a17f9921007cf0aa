#!/usr/bin/env bash
# apt_install.sh PACKAGE WHAT CHECK...: install a Debian/Ubuntu PACKAGE unless the command CHECK...
# already succeeds, when apt-get can be used: as root, or through `sudo -n` (never asks for a
# password). WHAT names it in messages. Exit 0: CHECK succeeds (afterwards). Exit 1: it does not,
# with one line saying how to get it.
set -uo pipefail
PACKAGE=$1 WHAT=$2
shift 2
if "$@" >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null; then
    echo "no apt-get here: install $WHAT ($PACKAGE) with your package manager" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then SUDO=""
elif sudo -n true 2>/dev/null; then SUDO="sudo -n"
else
    echo "$WHAT is not installed and apt-get needs root: run 'sudo apt-get install $PACKAGE'" >&2
    exit 1
fi
echo "installing $PACKAGE with apt-get (apt-get update first)"
$SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$PACKAGE"
"$@" >/dev/null 2>&1 || { echo "apt-get could not install $PACKAGE (see its output above)" >&2; exit 1; }
