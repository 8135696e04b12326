"""Reading a user's small input file (a beat file, a score) whole, never more than its bound."""

from pathlib import Path


def read_bounded(path, max_bytes: int, what: str, error=ValueError) -> bytes:
    """The bytes of `path`; `error` (one line naming the file) when it is larger than `max_bytes` or unreadable.
    `what` names the kind of file in the messages ("beat file", "score")."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{path.name}: {size} bytes: a {what} is at most {max_bytes} bytes")
        with open(path, "rb") as f:
            return f.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
