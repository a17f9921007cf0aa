#!/usr/bin/env bash
# `make pi-check`: will edgecnn run on a Raspberry Pi? An arm64 Debian bookworm root under qemu,
# pi_classify.py run inside it with ai-edge-litert and with tflite-runtime 2.14, predictions
# compared with the desktop runtime's. The logic is in pi_check.py; this wrapper picks the
# Python and, as a backstop, unmounts /proc and /sys in the root if the Python process dies.
# Options pass through: bash scripts/pi_check.sh --help
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"  # no cd: relative --model/PI_MODEL paths stay the caller's
PY="${PYTHON:-$REPO/.venv/bin/python}"
[ -x "$PY" ] || { echo "pi-check: error: $PY not found; run 'make install' first (or set PYTHON)" >&2; exit 2; }
ROOT="${EDGECNN_PI_ROOT:-$REPO/.cache/pi-root}"
cleanup() {  # only if no other pi-check holds the root's lock (the tree is shared)
    command -v flock >/dev/null || return 0
    flock -n "$ROOT.lock" sh -c 'for m in "$1/proc/cpuinfo" "$1/sys" "$1/proc"; do
        if mountpoint -q "$m" 2>/dev/null; then umount "$m" 2>/dev/null || umount -l "$m"; fi
    done' sh "$ROOT" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$PY" "$REPO/scripts/pi_check.py" "$@"
