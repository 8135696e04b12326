"""Build the Blender extension zip: dist/virtual_conductor-<version>.zip.

    python build_addon.py [--output-dir dist] [--blender-ext PATH]
    python build_addon.py --sync-contract     # after editing backend/vconductor/contract.py

Stages virtual_conductor_addon/ (without tests and caches) plus the repository's rigs/ folder (as rigs/ inside
the add-on), refuses imports the add-on cannot have at run time (only the standard library, numpy and the
modules Blender ships), then builds with Blender's own `blender_ext.py build` and checks the zip with
`blender_ext.py validate`. blender_ext.py is found inside the installed `bpy` wheel unless --blender-ext is
given. Prints the zip's path; exits non-zero with one line saying what failed.
"""

import argparse
import ast
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent
ADDON = REPO / "virtual_conductor_addon"
RIGS = REPO / "rigs"
# The backend/add-on contract: one source (the backend's), byte-copied into the add-on (docs/architecture.md).
CONTRACT_FILES = ("contract.py", "contract_beats.py", "contract_style.py")
CONTRACT_SOURCE = REPO / "backend" / "vconductor"
CONTRACT_COPY = ADDON
MANIFEST = "blender_manifest.toml"
EXCLUDED = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".*", "*.zip")
# What Blender's Python has besides the standard library: numpy and Blender's own modules.
BLENDER_MODULES = """numpy bpy bpy_extras bpy_types mathutils bmesh aud gpu gpu_extras blf bl_math bl_ui
    bl_operators addon_utils rna_prop_ui idprop imbuf freestyle bgl"""
RUNTIME_MODULES = frozenset(BLENDER_MODULES.split())


class BuildError(Exception):
    """A reason the build stopped, printed as one line."""


def find_blender_ext(explicit: str | None) -> Path:
    """blender_ext.py: the given path, else the one inside the installed bpy package (not imported)."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise BuildError(f"--blender-ext {path}: no such file")
        return path
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.origin:
        raise BuildError(
            f"cannot find blender_ext.py: the bpy package is not installed for {sys.executable} "
            "(pip install bpy, or pass --blender-ext <blender>/<version>/scripts/addons_core/bl_pkg/cli/blender_ext.py)"
        )
    found = sorted(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise BuildError(
            f"cannot find blender_ext.py inside {Path(spec.origin).parent}: pass --blender-ext PATH"
        )
    return found[-1]


def foreign_imports(folder: Path) -> list[str]:
    """'file:line module' for every absolute import of something Blender's Python does not have."""
    allowed = RUNTIME_MODULES | set(sys.stdlib_module_names)
    problems = []
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts or "tests" in path.relative_to(folder).parts:
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError as exc:
            raise BuildError(
                f"{path.relative_to(folder.parent)}:{exc.lineno}: syntax error: {exc.msg}"
            ) from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in allowed:
                    problems.append(f"{path.relative_to(folder.parent)}:{node.lineno} {top}")
    return problems


def contract_in_sync() -> bool:
    return all(
        (CONTRACT_COPY / name).is_file()
        and (CONTRACT_COPY / name).read_bytes() == (CONTRACT_SOURCE / name).read_bytes()
        for name in CONTRACT_FILES
    )


def sync_contract() -> Path:
    """Copy the backend's contract files into the add-on (run after editing the contract)."""
    for name in CONTRACT_FILES:
        shutil.copyfile(CONTRACT_SOURCE / name, CONTRACT_COPY / name)
    return CONTRACT_COPY


def stage(folder: Path) -> Path:
    """The add-on as it will be installed: its files (no tests, no caches) and the default rigs."""
    if not (ADDON / MANIFEST).is_file():
        raise BuildError(f"{ADDON.relative_to(REPO)}/{MANIFEST} not found")
    if not RIGS.is_dir() or not any(RIGS.glob("*.json")):
        raise BuildError(
            f"{RIGS.relative_to(REPO)}/ with the default rig (*.json) not found: it ships in the add-on"
        )
    staged = folder / "virtual_conductor"
    shutil.copytree(ADDON, staged, ignore=EXCLUDED)
    shutil.copytree(RIGS, staged / "rigs", ignore=EXCLUDED, dirs_exist_ok=True)
    return staged


def run_blender_ext(blender_ext: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(blender_ext), *args], capture_output=True, text=True, timeout=300
    )
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        lines = [line for line in output.splitlines() if line.strip()]
        raise BuildError(
            f"blender_ext.py {args[0]} failed: {lines[-1] if lines else f'exit code {done.returncode}'}"
        )
    return output


def build(output_dir: Path, blender_ext: Path) -> Path:
    if not contract_in_sync():
        raise BuildError(
            f"the contract files in {CONTRACT_COPY.relative_to(REPO)} differ from {CONTRACT_SOURCE.relative_to(REPO)}: "
            "run `python build_addon.py --sync-contract`"
        )
    problems = foreign_imports(ADDON)
    if problems:
        raise BuildError(
            "the add-on imports modules Blender does not ship (only the standard library, numpy and Blender's "
            f"own modules are available): {', '.join(problems)}"
        )
    with open(ADDON / MANIFEST, "rb") as f:
        manifest = tomllib.load(f)
    zip_path = (output_dir / f"{manifest['id']}-{manifest['version']}.zip").resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vconductor-addon-build-") as tmp:
        staged = stage(Path(tmp))
        built = Path(tmp) / zip_path.name
        run_blender_ext(blender_ext, "build", "--source-dir", str(staged), "--output-filepath", str(built))
        run_blender_ext(blender_ext, "validate", str(built))
        shutil.move(built, zip_path)  # replaced only once the new zip is known good
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Virtual Conductor Blender extension zip.")
    parser.add_argument(
        "--output-dir", default=str(REPO / "dist"), help="where the zip goes (default: dist/)"
    )
    parser.add_argument(
        "--blender-ext", help="Blender's blender_ext.py (default: the one in the bpy package)"
    )
    parser.add_argument(
        "--sync-contract", action="store_true", help="copy the backend's contract.py into the add-on and stop"
    )
    args = parser.parse_args(argv)
    if args.sync_contract:
        print(sync_contract())
        return 0
    try:
        zip_path = build(Path(args.output_dir), find_blender_ext(args.blender_ext))
    except (BuildError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(zip_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
