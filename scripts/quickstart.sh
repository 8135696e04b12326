#!/usr/bin/env bash
# Quick start: create .venv, install everything (CPU torch pinned first), and run the main job on the bundled
# example piece: keypoints (.npz/.json), a video preview with the music, a contact sheet, the Blender add-on zip,
# and a .blend with the default rig animated by the add-on plus its MP4 render with the music.
#   bash scripts/quickstart.sh
# Environment: PYTHON (interpreter for the venv, default python3.11 or python3),
#              VCONDUCTOR_OFFICIAL_WEIGHTS (path to M2SGAN_official_pretrained.pt, if you have it;
#              without it the procedural conductor is used).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
echo "==> installing (CPU torch 2.13.0 first, so nothing pulls the CUDA build)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
# Blender as a Python module (bpy) builds and checks the add-on and makes the .blend; its wheels need Python 3.11.
if .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  extras="dev,blender"
else
  extras="dev"
  echo "==> Python is not 3.11: skipping Blender (bpy wheels need 3.11); the add-on zip and .blend are not made"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras,beats-data]"
VC=.venv/bin/vconductor

# The official weights cannot be bundled: register them when we know where they are. Without them the main
# job uses the procedural conductor, which needs no weights.
weights=${VCONDUCTOR_OFFICIAL_WEIGHTS:-../shared/reference/checkpoints/M2SGAN_official_pretrained.pt}
if [ -f "$weights" ] && ! "$VC" models list | grep -q '^official '; then
  "$VC" models add official "$weights"
fi

out=quickstart-output
mkdir -p "$out"
echo "==> main job: examples/ode_to_joy.ogg -> $out/"
"$VC" generate examples/ode_to_joy.ogg -o "$out/ode_to_joy.npz" --seed 0 --timings
"$VC" generate examples/ode_to_joy.ogg -o "$out/ode_to_joy.json" --seed 0 -q
"$VC" generate examples/ode_to_joy.ogg -o "$out/ode_to_joy.procedural.npz" --model procedural --seed 0 -q
"$VC" preview "$out/ode_to_joy.npz" --audio examples/ode_to_joy.ogg -o "$out/ode_to_joy.mp4"
"$VC" preview "$out/ode_to_joy.npz" -o "$out/ode_to_joy.png"

if [ "$extras" = "dev,blender" ]; then
  echo "==> the Blender add-on: build the extension zip, then animate the default rig with it"
  zip=$(.venv/bin/python build_addon.py --output-dir dist)
  echo "    $zip (install it in Blender: Edit > Preferences > Get Extensions > Install from Disk)"
  .venv/bin/python scripts/make_scene.py examples/ode_to_joy.ogg --addon "$zip" --backend "$PWD/$VC" \
    --blend "$out/ode_to_joy.blend" --video "$out/ode_to_joy.blender.mp4"
  echo "==> done: $out/ode_to_joy.{npz,json,mp4,png} and $out/ode_to_joy.{blend,blender.mp4}."
else
  echo "==> done: $out/ode_to_joy.{npz,json,mp4,png}."
fi
echo "Run the tests with: .venv/bin/python -m pytest"
