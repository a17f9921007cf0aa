#!/usr/bin/env bash
# Install the real Fashion-MNIST from Debian/Ubuntu's package `dataset-fashion-mnist`
# (the four IDX files in /usr/share/datasets/fashion-mnist) when it is missing
# (scripts/apt_install.sh: as root or with `sudo -n`, never asking for a password).
# Exit 0: the files are there. Exit 1: they are not, with one line saying how to get them
# (without apt: put the four IDX files in a folder and pass --data-dir DIR).
set -uo pipefail
DIR=/usr/share/datasets/fashion-mnist
CHECK="for n in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do [ -f $DIR/\$n.gz ] || exit 1; done"
bash "$(dirname "$0")/apt_install.sh" dataset-fashion-mnist Fashion-MNIST sh -c "$CHECK" || exit 1
echo "Fashion-MNIST: $DIR (dataset-fashion-mnist)"
