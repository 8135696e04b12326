"""This process's scratch folder: where long pieces' spectrogram frames (and the service's uploads) wait on disk.

One folder per process, under the system temp folder, named after the process id: it is removed when the process
exits normally, and the folders of processes that died without removing theirs (SIGKILL, a crash, out of memory)
are removed the next time any process makes its own, so gigabytes never pile up.
"""

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

_LOCK = threading.Lock()
_FOLDERS: dict[str, Path] = {}


def scratch_folder(kind: str = "scratch") -> Path:
    """This process's folder for `kind` ("scratch", "service"), made on first use."""
    with _LOCK:
        folder = _FOLDERS.get(kind)
        if folder is None or folder.parent.name != _parent_name(kind) or not folder.is_dir():
            folder = _FOLDERS[kind] = _make_folder(kind)
        return folder


def remove_own_folders() -> None:
    """Remove this process's folders now (for exits that skip atexit handlers, such as os._exit)."""
    with _LOCK:
        folders = list(_FOLDERS.values())
        _FOLDERS.clear()
    for folder in folders:
        _remove_if_ours(folder, int(folder.name.split("-")[0]))


def _parent_name(kind: str) -> str:
    try:
        user = str(os.getuid())
    except AttributeError:  # Windows: the temp folder is per user already
        user = "user"
    return f"vconductor-{kind}-{user}"


def _make_folder(kind: str) -> Path:
    parent = Path(tempfile.gettempdir()) / _parent_name(kind)
    parent.mkdir(mode=0o700, exist_ok=True)
    remove_dead_folders(parent)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=parent)).resolve()
    atexit.register(_remove_if_ours, folder, os.getpid())
    return folder


def _remove_if_ours(folder: Path, pid: int) -> None:
    if os.getpid() == pid:  # a forked child inherits the handler, not the folder
        shutil.rmtree(folder, ignore_errors=True)


def remove_dead_folders(parent: Path) -> None:
    """Remove the folders in `parent` whose owning process no longer runs."""
    if os.name != "posix":  # on Windows os.kill(pid, 0) would send Ctrl-C rather than probe
        return
    for old in parent.iterdir():
        pid = old.name.split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
