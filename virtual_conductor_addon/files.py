"""Writing the add-on's files (keypoint exports, bone maps) so that a failure never leaves a half-written one.

The backend has the same rule in vconductor/files.py; the add-on ships without the backend, so it keeps its own.
"""

import os
import secrets
from pathlib import Path


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` through a temp file beside it, moved into place only once fully written.

    Not mkstemp: the file is created with the user's usual permissions rather than 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
