"""The layering of docs/architecture.md, checked on every module's imports; and the size rules of the style."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import REPO

BACKEND = REPO / "backend" / "vconductor"
ADDON = REPO / "virtual_conductor_addon"

_BASE = {"contract", "contract_beats", "contract_style", "progress", "skeleton", "scratch"}
_BELOW_PIPELINE = _BASE | {
    "audio",
    "models",
    "conducting",
    "beat_tracking",
    "beat_lock",
    "beat_files",
    "beat_sources",
    "bounded_files",
    "scores",
    "conducted",
    "generation",
    "motion_io",
    "registry",
    "pipeline",
}
# component -> the components it may import (docs/architecture.md, "Layers and what may import what").
BACKEND_ALLOWED = {
    "contract": set(),
    "contract_beats": {"contract"},
    "contract_style": set(),
    "scratch": set(),
    "progress": {"contract"},
    "skeleton": {"contract"},
    "audio": {"contract", "skeleton", "scratch"},
    "models": {"contract", "skeleton"},
    "conducted": {"contract", "contract_style"},
    "conducting": {"audio", "progress", "contract", "contract_style", "skeleton", "conducted"},
    "generation": {"models", "progress", "contract", "skeleton"},
    "motion_io": {"contract"},
    "beat_lock": {"contract"},
    "bounded_files": set(),
    "beat_files": {"contract_beats", "bounded_files"},
    "beat_sources": {"beat_files", "beat_tracking"},
    "registry": {"models", "contract"},
    "pipeline": _BELOW_PIPELINE - {"pipeline", "motion_io"},
    "preview": {"audio", "motion_io", "progress", "contract", "skeleton"},
    "metrics": {"models", "registry", "contract", "skeleton"},
    "data": _BASE | {"audio", "conducting", "motion_io", "cli_options"},
    "scores": {"audio", "beat_files", "beat_sources", "beat_tracking", "bounded_files", "conducting"},
    "beat_data": _BASE | {"audio", "scores"},
    "beat_tracking": {"audio", "models", "contract", "contract_beats", "progress", "conducting"},
    "training": _BASE | {"data", "beat_data", "metrics", "models", "beat_tracking", "cli_options"},
    "evaluation": _BASE | {"data", "metrics", "models", "registry", "generation", "training", "motion_io"},
    "service": _BELOW_PIPELINE | {"__init__"},
    "cli_options": set(),
    "cli_outputs": {"contract"},
    "cli_style": {"contract_style"},
    "cli_beats": {"beat_files", "beat_sources", "scores"},
    "cli_analyze": {
        "cli",
        "cli_beats",
        "beat_sources",
        "cli_outputs",
        "contract",
        "contract_beats",
        "audio",
        "pipeline",
        "beat_tracking",
        "conducting",
    },
    "cli": {"*"},
    "__main__": {"cli"},
    "__init__": set(),
}
ADDON_ALLOWED = {
    "contract": set(),
    "contract_beats": {"contract"},
    "contract_style": set(),
    "motion": {"contract", "contract_beats"},
    "service": {"contract", "contract_beats", "contract_style"},
    "blender": {"*"},
    "__init__": {"blender"},
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _module_parts(root: Path, path: Path) -> tuple[list[str], bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return (parts[:-1] if is_package and len(parts) > 1 else parts), is_package


def _imported_modules(root: Path, package: str, path: Path):
    """The in-package modules `path` imports, each as a list of name parts relative to the package."""
    parts, is_package = _module_parts(root, path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = parts if is_package and parts != ["__init__"] else parts[:-1]
            base = base[: len(base) - node.level + 1] if node.level > 1 else base
            if node.module:
                yield base + node.module.split(".")
            else:
                yield from (base + [alias.name] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package:
            yield node.module.split(".")[1:]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package:
                    yield alias.name.split(".")[1:]


def component_imports(root: Path, package: str) -> dict[str, set[str]]:
    imports = defaultdict(set)
    for path in root.rglob("*.py"):
        component = path.relative_to(root).parts[0].removesuffix(".py")
        for target in _imported_modules(root, package, path):
            if target and target[0] != component:
                imports[component].add(target[0])
    return imports


def _violations(imports: dict[str, set[str]], allowed: dict[str, set[str]]) -> list[str]:
    problems = []
    for component, targets in sorted(imports.items()):
        permitted = allowed.get(component)
        if permitted is None:
            problems.append(f"{component}: a new component; add it to docs/architecture.md and this test")
        elif "*" not in permitted:
            problems += [f"{component} imports {t}" for t in sorted(targets - permitted - {"__version__"})]
    return problems


def test_backend_layers():
    assert _violations(component_imports(BACKEND, "vconductor"), BACKEND_ALLOWED) == []


def test_addon_layers():
    assert _violations(component_imports(ADDON, "virtual_conductor_addon"), ADDON_ALLOWED) == []


def test_the_rule_catches_an_upward_import(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.py").write_text("from ..service import app\nfrom ..contract import x\n")
    imports = component_imports(tmp_path, "vconductor")
    assert _violations(imports, BACKEND_ALLOWED) == ["models imports service"]


@pytest.mark.parametrize("folder", ["motion", "service", "contract.py"])
def test_addon_core_never_imports_bpy(folder):
    paths = [ADDON / folder] if folder.endswith(".py") else sorted((ADDON / folder).rglob("*.py"))
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            assert not [n for n in names if n.split(".")[0] in {"bpy", "mathutils", "bmesh"}], path


def _product_modules():
    for root in (BACKEND, ADDON):
        yield from (p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts)


def test_modules_are_small():
    long = [
        f"{p.relative_to(REPO)}: {n} lines"
        for p in _product_modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def test_functions_are_short():
    long = []
    for path in _product_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {length} lines")
    assert long == []
