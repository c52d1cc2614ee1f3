#!/usr/bin/env bash
# Installs the PyTorch peer of `npm run bench -- training` (bench/peers/torch_mamba.py): a virtual
# environment in .cache/peers/torch-venv holding torch (CPU) and numpy. Idempotent: a venv that
# already imports torch is left as it is. `pip install torch` goes through pip's configured index
# (here a local wheel mirror); when that fails, a CPU wheel in /opt/wheels is installed by path.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.cache/peers/torch-venv"
python="$venv/bin/python"

if [ -x "$python" ] && "$python" -c 'import torch, numpy' >/dev/null 2>&1; then
  echo "install-torch-peer: $("$python" -c 'import torch; print("torch", torch.__version__)') already in $venv"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || {
  echo "install-torch-peer: python3 is missing; install Python 3 (e.g. apt-get install python3 python3-venv)" >&2
  exit 1
}
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv" || {
  echo "install-torch-peer: python3 -m venv failed; install the venv module (e.g. apt-get install python3-venv)" >&2
  exit 1
}
if ! "$python" -m pip install torch numpy; then
  wheel="$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -n 1)"
  if [ -z "$wheel" ]; then
    echo "install-torch-peer: pip install torch failed and no CPU wheel is in /opt/wheels" >&2
    exit 1
  fi
  echo "install-torch-peer: pip install torch failed; installing $wheel"
  "$python" -m pip install "$wheel" numpy || exit 1
fi
"$python" -c 'import torch; print("install-torch-peer: torch", torch.__version__, "in '"$venv"'")'
