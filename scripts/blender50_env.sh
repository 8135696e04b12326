#!/usr/bin/env bash
# A second environment with Blender 5.0 as a Python module, to run the add-on's bpy tests (tests/blender)
# against 5.0 as well as the 4.5 wheel in .venv. tests/addon_service/test_blender50.py uses it when present
# and skips otherwise. About 820 MB installed; the backend itself stays in .venv.
#   bash scripts/blender50_env.sh
# Environment: PYTHON (must be Python 3.11, what the bpy wheels are built for; default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || true)}
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "error: the bpy 5.0 wheel needs Python 3.11; set PYTHON to a python3.11 interpreter" >&2
  exit 1
fi
if [ ! -x .venv-blender50/bin/python ]; then
  echo "==> creating .venv-blender50 with $PYTHON"
  "$PYTHON" -m venv .venv-blender50
fi
echo "==> installing bpy 5.0.1 (numpy < 2, as the wheel requires), pytest and soundfile (tests/blender writes float WAVs)"
.venv-blender50/bin/python -m pip install --quiet --disable-pip-version-check "bpy==5.0.1" "numpy<2" pytest soundfile
.venv-blender50/bin/python -c 'import bpy; print("==> ready:", bpy.app.version_string)'
