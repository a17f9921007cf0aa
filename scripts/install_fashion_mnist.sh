#!/usr/bin/env bash
# Install the real Fashion-MNIST from Debian/Ubuntu's package `dataset-fashion-mnist`
# (the four IDX files in /usr/share/datasets/fashion-mnist) when it is missing and
# apt-get can be used: as root, or through `sudo -n` (never asks for a password).
# Exit 0: the files are there. Exit 1: they are not, with one line saying how to get them.
set -uo pipefail
DIR=/usr/share/datasets/fashion-mnist
have_files() { [ -f "$DIR/train-images-idx3-ubyte.gz" ] && [ -f "$DIR/t10k-labels-idx1-ubyte.gz" ]; }
have_files && exit 0
if ! command -v apt-get >/dev/null; then
    echo "no apt-get here: put the four Fashion-MNIST IDX files in a folder and pass --data-dir DIR" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then SUDO=""
elif sudo -n true 2>/dev/null; then SUDO="sudo -n"
else
    echo "Fashion-MNIST is not installed and apt-get needs root: run 'sudo apt-get install dataset-fashion-mnist'" >&2
    exit 1
fi
echo "installing dataset-fashion-mnist with apt-get"
$SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
have_files || { echo "apt-get could not install dataset-fashion-mnist" >&2; exit 1; }
