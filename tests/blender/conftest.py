"""Harness for tests in real Blender (the `bpy` wheel): the add-on enabled from source, one backend per session.

bpy is imported lazily by the session fixture (the main suite runs these tests in the same process as the
torch tests), after pointing Blender's user resources and temp dir at test folders. The add-on is disabled at
teardown and at exit: bpy 4.5 hangs at exit while operator or panel classes are registered. A session that
imported bpy ends with os._exit once pytest has reported (see pytest_unconfigure).
"""

import atexit
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADDON = "virtual_conductor_addon"
HAVE_BPY = importlib.util.find_spec("bpy") is not None
EXIT_STATUS = pytest.StashKey[int]()
BPY_MISSING = "needs the `bpy` wheel (pip install bpy==4.5.*, Python 3.11), which is not installed"


def pytest_collection_modifyitems(config, items):
    if HAVE_BPY:
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=BPY_MISSING)
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def bpy_module(tmp_path_factory):
    """The bpy module with the add-on enabled from source; disabled again at the end of the session."""
    if not HAVE_BPY:
        pytest.skip(BPY_MISSING)
    root = tmp_path_factory.mktemp("blender")
    os.environ["BLENDER_USER_RESOURCES"] = str(root / "user")
    previous_tmp = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(root)
    try:
        import bpy  # noqa: I001 (addon_utils exists only once bpy is imported)
        import addon_utils
    finally:  # Blender has read it; the rest of the test process keeps its own temp dir
        if previous_tmp is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous_tmp
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    errors = []
    module = addon_utils.enable(ADDON, default_set=True, handle_error=errors.append)
    if module is None:
        pytest.fail(f"the add-on did not enable: {errors}")

    def disable():
        if ADDON in bpy.context.preferences.addons:
            addon_utils.disable(ADDON, default_set=True)

    atexit.register(disable)
    yield bpy
    disable()
    atexit.unregister(disable)


@pytest.fixture(scope="session")
def backend_command():
    """$VCONDUCTOR_BACKEND_CMD (e.g. when Blender 5.0 runs these tests from another venv), else the
    `vconductor` of the environment running the tests."""
    named = os.environ.get("VCONDUCTOR_BACKEND_CMD")
    if named:
        return named
    beside = Path(sys.executable).with_name("vconductor")
    if beside.is_file():
        return str(beside)
    found = shutil.which("vconductor")
    if found is None:
        pytest.skip("the `vconductor` program is not installed in this environment")
    return found


@pytest.fixture(scope="session")
def session_backend(bpy_module, backend_command, tmp_path_factory):
    """The add-on's own backend process, started once per session (start ~2-5 s; first run JITs librosa)."""
    from virtual_conductor_addon.blender.backend import SESSION

    SESSION.environment = {"VCONDUCTOR_HOME": str(tmp_path_factory.mktemp("vconductor-home"))}  # no models
    _start_backend(bpy_module, backend_command)
    yield SESSION
    SESSION.stop()


@pytest.fixture
def started_backend(bpy_module, backend_command, session_backend):
    """The session's backend, started again if a test stopped it (e.g. by starting a missing program)."""
    if session_backend.process is None or not session_backend.process.running:
        _start_backend(bpy_module, backend_command)
    return session_backend


def _start_backend(bpy_module, backend_command) -> None:
    prefs = _preferences(bpy_module)
    prefs.backend_mode, prefs.backend_command, prefs.device = "START", backend_command, "cpu"
    result = bpy_module.ops.vconductor.backend_start()
    assert result == {"FINISHED"}, bpy_module.context.window_manager.vconductor_job.last_error


@pytest.fixture
def bpy(bpy_module):
    """bpy with an empty scene, START mode preferences, and no job left over."""
    from virtual_conductor_addon.blender.backend import SESSION

    bpy_module.ops.wm.read_homefile(use_empty=True)
    SESSION.forget_job()
    state = bpy_module.context.window_manager.vconductor_job
    state.running, state.progress, state.message, state.last_error = False, 0.0, "", ""
    prefs = _preferences(bpy_module)
    prefs.backend_mode, prefs.default_model = "START", ""
    return bpy_module


def _preferences(bpy_module):
    return bpy_module.context.preferences.addons[ADDON].preferences


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """After a session that imported bpy, run the Python exit handlers (the add-on's disable, Blender's own exit and
    leak report) and end the process with pytest's status. bpy 4.5 (seen; 5.0 untested) can deadlock in a C++ static's
    destructor at exit (it destroys a condition variable Blender's delayed-close thread still waits on; seen after
    Rigify generated a rig), which would hang CI after every test has reported."""
    if "bpy" not in sys.modules or EXIT_STATUS not in config.stash:
        return
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(config.stash[EXIT_STATUS])
