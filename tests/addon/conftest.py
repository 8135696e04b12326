"""The add-on's motion core is tested without Blender: virtual_conductor_addon/__init__.py imports bpy, so the
motion folder is loaded on its own as the top-level package `vc_motion` (it uses relative imports only)."""

import importlib.util
import sys
from pathlib import Path

MOTION_DIR = Path(__file__).resolve().parents[2] / "virtual_conductor_addon" / "motion"

if "vc_motion" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "vc_motion", MOTION_DIR / "__init__.py", submodule_search_locations=[str(MOTION_DIR)]
    )
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["vc_motion"] = _module
    _spec.loader.exec_module(_module)
