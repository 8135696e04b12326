"""The add-on's bpy-free layers (motion/, service/, contract.py) are tested without Blender: importing the
`virtual_conductor_addon` package does not import bpy (only its register() does). It is imported from the
repository root, which plain `pytest` (unlike `python -m pytest`) does not put on sys.path."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
