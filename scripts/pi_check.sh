#!/usr/bin/env bash
# `make pi-check`: edgecnn on emulated Raspberry Pi OS (trixie and bookworm arm64, bookworm armhf),
# each root with apt's numpy/Pillow/OpenCV and README's install lines, compared with the desktop.
# The logic is in scripts/picheck/ (run through pi_check.py); this wrapper picks the Python and, as a
# backstop, unmounts /proc and /sys in the cached roots if the Python process dies.
# Options pass through: bash scripts/pi_check.sh --help   (--quick: trixie arm64 only)
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"  # no cd: relative --model/PI_MODEL paths stay the caller's
PY="${PYTHON:-$REPO/.venv/bin/python}"
[ -x "$PY" ] || { echo "pi-check: error: $PY not found; run 'make install' first (or set PYTHON)" >&2; exit 2; }
CACHE="${EDGECNN_PI_ROOTS:-$REPO/.cache/pi-roots}"
cleanup() {  # only if no other pi-check holds the cache's lock (the tree is shared)
    command -v flock >/dev/null && [ -d "$CACHE" ] || return 0
    flock -n "$CACHE/.lock" sh -c 'for r in "$1"/*/; do for m in "$r"proc/cpuinfo "$r"sys "$r"proc; do
        if mountpoint -q "$m" 2>/dev/null; then umount "$m" 2>/dev/null || umount -l "$m"; fi
    done; done' sh "$CACHE" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$PY" "$REPO/scripts/pi_check.py" "$@"
