#!/usr/bin/env bash
# Makes sure the data of sweeps/default.yaml and sweeps/fashion-mnist-60k.yaml is present:
# installs Debian's dataset-fashion-mnist (as .ci/install-deps does) and checks its files
# against data/fashion-mnist.sha256. Nothing is copied into the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir=/usr/share/datasets/fashion-mnist
if ! dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends dataset-fashion-mnist
fi
(cd "$dir" && sha256sum --quiet -c "$here/fashion-mnist.sha256")
echo "fashion-mnist ok: $dir"
