#!/usr/bin/env bash
# Install the real Fashion-MNIST from Debian/Ubuntu's package `dataset-fashion-mnist`
# (the four IDX files in /usr/share/datasets/fashion-mnist) when it is missing and
# apt-get can be used: as root, or through `sudo -n` (never asks for a password).
# Exit 0: the files are there. Exit 1: they are not, with one line saying how to get them.
set -uo pipefail
DIR=/usr/share/datasets/fashion-mnist
have_files() {
    for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [ -f "$DIR/$name.gz" ] || return 1
    done
}
if have_files; then echo "Fashion-MNIST: $DIR (dataset-fashion-mnist)"; exit 0; fi
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
echo "installing dataset-fashion-mnist with apt-get (apt-get update first)"
$SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist
have_files || { echo "apt-get could not install dataset-fashion-mnist (see its output above)" >&2; exit 1; }
echo "Fashion-MNIST: $DIR (dataset-fashion-mnist)"
