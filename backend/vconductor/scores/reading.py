"""Reading a user's score safely: MusicXML (.musicxml, .xml), compressed MusicXML (.mxl) or MIDI (.mid, .midi).

Checks before music21 sees a byte: the size (MAX_SCORE_BYTES), the format by suffix and content (MIDI's
MThd, a zip, XML), an .mxl's zip (member count, total uncompressed size, no absolute or `..` names) read here
within bounds, and XML through defusedxml: a document that declares entities (billion laughs, external
entities) is refused; the standard MusicXML DOCTYPE is allowed. Then music21 parses in a child process
(scores/child.py) under a time limit and a memory limit, so a score that makes it loop or explode ends the
child, not us. Every failure is a ScoreFileError of one line that names the file.
"""

import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..audio.child_process import tied_to_this_process
from ..bounded_files import read_bounded
from .timeline import ScoreTimeline, from_json

MAX_SCORE_BYTES = 16 << 20  # 16 MiB: a long full score's MusicXML is a few MiB
MAX_MXL_MEMBERS = 64
MAX_MXL_UNCOMPRESSED = 64 << 20
PARSE_TIMEOUT_S = 120.0
CHILD_MEMORY_BYTES = 4 << 30  # address space of the reading child
SUFFIXES = {".musicxml": "musicxml", ".xml": "musicxml", ".mxl": "mxl", ".mid": "midi", ".midi": "midi"}
SCORE_ROOTS = ("score-partwise", "score-timewise")


class ScoreFileError(ValueError):
    """A score file that cannot be used: one line naming the file and the reason."""


def score_format(name: str) -> str:
    """'musicxml', 'mxl' or 'midi' from a file name's suffix; ScoreFileError for another."""
    kind = SUFFIXES.get(PurePosixPath(name).suffix.lower())
    if kind is None:
        known = ", ".join(SUFFIXES)
        raise ScoreFileError(f"{name}: not a score file name (a score is {known})")
    return kind


def read_score_file(path) -> ScoreTimeline:
    """The timeline of a score on disk (size checked before reading)."""
    path = Path(path)
    score_format(path.name)
    data = read_bounded(path, MAX_SCORE_BYTES, "score", ScoreFileError)
    return parse_score_bytes(data, path.name)


def parse_score_bytes(data: bytes, name: str, timeout_s: float = PARSE_TIMEOUT_S) -> ScoreTimeline:
    """The timeline of a score's bytes (`name`'s suffix says the format); ScoreFileError when unusable."""
    kind = score_format(name)
    if not data:
        raise ScoreFileError(f"{name}: the file is empty")
    if len(data) > MAX_SCORE_BYTES:
        raise ScoreFileError(f"{name}: too big (a score is at most {MAX_SCORE_BYTES} bytes)")
    if kind == "midi":
        if not data.startswith(b"MThd"):
            raise ScoreFileError(f"{name}: not a MIDI file (no MThd header)")
        content = data
    else:
        xml = _mxl_document(data, name) if kind == "mxl" else data
        _check_xml(xml, name)
        content, kind = xml, "musicxml"
    return _parse_in_child(content, kind, name, timeout_s)


def _mxl_document(data: bytes, name: str) -> bytes:
    """The MusicXML document inside an .mxl zip, read within bounds (the container's rootfile, else the one
    .xml/.musicxml outside META-INF)."""
    if not data.startswith(b"PK"):
        raise ScoreFileError(f"{name}: not a compressed MusicXML (.mxl) file (not a zip)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ScoreFileError(f"{name}: a damaged or truncated .mxl ({str(exc)[:60]})") from None
    if len(members) > MAX_MXL_MEMBERS:
        raise ScoreFileError(f"{name}: {len(members)} files in the .mxl (at most {MAX_MXL_MEMBERS})")
    total = sum(m.file_size for m in members)
    if total > MAX_MXL_UNCOMPRESSED:
        raise ScoreFileError(
            f"{name}: unpacks to {total} bytes (at most {MAX_MXL_UNCOMPRESSED}): a zip bomb?"
        )
    for member in members:
        parts = PurePosixPath(member.filename.replace("\\", "/")).parts
        if member.filename.startswith(("/", "\\")) or ".." in parts or ":" in member.filename:
            raise ScoreFileError(f"{name}: the .mxl holds a file outside itself ({member.filename[:60]!r})")
    target = _rootfile(archive, name) or _first_score_member(members)
    if target is None:
        raise ScoreFileError(f"{name}: the .mxl holds no MusicXML document")
    try:
        with archive.open(target) as f:  # reads at most the member's declared size, then checks its CRC
            return f.read(MAX_MXL_UNCOMPRESSED + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ScoreFileError(f"{name}: a damaged or truncated .mxl ({str(exc)[:60]})") from None


def _rootfile(archive: zipfile.ZipFile, name: str) -> str | None:
    try:
        info = archive.getinfo("META-INF/container.xml")
    except KeyError:
        return None
    if info.file_size > 1 << 20:
        raise ScoreFileError(f"{name}: the .mxl's container.xml is too big")
    container = _check_xml(archive.read(info), name)
    for element in container.iter():
        if element.tag.rsplit("}", 1)[-1] == "rootfile" and element.get("full-path"):
            path = element.get("full-path")
            return path if path in archive.namelist() else None
    return None


def _first_score_member(members) -> str | None:
    for member in members:
        lower = member.filename.lower()
        if not lower.startswith("meta-inf/") and lower.endswith((".xml", ".musicxml")):
            return member.filename
    return None


def _check_xml(data: bytes, name: str):
    """The parsed XML (an ElementTree root), refusing entity declarations and external references."""
    from xml.etree.ElementTree import ParseError

    import defusedxml.ElementTree as safe
    from defusedxml import DefusedXmlException

    try:
        root = safe.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ScoreFileError(f"{name}: the XML declares entities or external references (refused)") from None
    except ParseError as exc:
        raise ScoreFileError(f"{name}: not well-formed XML, damaged or truncated ({exc})") from None
    if not name.lower().endswith(".mxl") or root.tag.rsplit("}", 1)[-1] != "container":
        tag = root.tag.rsplit("}", 1)[-1]
        if tag not in SCORE_ROOTS and tag != "container":
            raise ScoreFileError(f"{name}: not a MusicXML score (its root element is <{tag[:40]}>)")
    return root


def _parse_in_child(content: bytes, kind: str, name: str, timeout_s: float) -> ScoreTimeline:
    """music21 parses `content` in a child process (time and memory bounded); its timeline comes back."""
    suffix = ".mid" if kind == "midi" else ".musicxml"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2]), *sys.path]))
    with tempfile.TemporaryDirectory(prefix="vconductor-score-") as folder:
        path = Path(folder) / f"score{suffix}"
        path.write_bytes(content)
        command = [sys.executable, "-m", "vconductor.scores.child", str(path), name, str(CHILD_MEMORY_BYTES)]
        try:
            done = subprocess.run(
                **tied_to_this_process(command), capture_output=True, timeout=timeout_s, env=env
            )
        except subprocess.TimeoutExpired:
            raise ScoreFileError(f"{name}: reading the score took over {timeout_s:g} s (refused)") from None
    out = done.stdout.decode("utf-8", "replace")
    if done.returncode == 0 and out.startswith("{"):
        return from_json(out)
    if done.returncode == 3 and out.strip():
        raise ScoreFileError(f"{name}: {out.strip().splitlines()[0]}")
    why = "out of memory" if b"MemoryError" in done.stderr else f"exit status {done.returncode}"
    raise ScoreFileError(f"{name}: music21 could not read the score ({why})")
