"""`vconductor beats-data merge OUT SRC...`: one training folder of links to samples of several beats-data folders.

A tracker run trains on one folder; builds are made in pieces (works drawn at random, works picked by metre,
click tracks, the long works of one genre). Merging links each sample (FLAC and JSON) under the name
SRC-FOLDER-NAME_SAMPLE, so nothing is copied and names never collide; it leaves out the works of other folders
(the decoder's development set), may keep every Nth window of long works (so one long work does not
dominate), and refuses any held-out work. Run it again after a build grows: existing links are kept.
"""

from pathlib import Path

from .samples import BeatDataError, read_record, sample_jsons, sample_work
from .scores import is_held_out


def folder_works(folder: Path) -> set[str]:
    """The works of a beats-data folder's samples."""
    return {sample_work(read_record(p)) for p in sample_jsons(folder)} - {""}


def merge_folders(out: Path, sources: list[Path], without: set[str], every_nth_window: int = 1) -> dict:
    """Links of the samples of `sources` in `out` (made if needed); {source name: samples linked, ...,
    "left out": n}. BeatDataError when a source is missing or holds a held-out work."""
    if every_nth_window < 1:
        raise BeatDataError(f"every Nth window needs N >= 1, got {every_nth_window}")
    for source in sources:
        if not source.is_dir():
            raise BeatDataError(f"{source}: no such beats-data folder")
    out.mkdir(parents=True, exist_ok=True)
    counts = {"left out": 0}
    for source in sources:
        counts[source.name] = 0
        for json_path in sample_jsons(source):
            record = read_record(json_path)
            work = sample_work(record)
            if is_held_out(work):
                raise BeatDataError(f"{json_path}: {work} is held out for evaluation and is never trained on")
            window = (record.get("window") or {}).get("index", 0)
            if work in without or window % every_nth_window:
                counts["left out"] += 1
                continue
            for path in (json_path.with_suffix(".flac"), json_path):
                link = out / f"{source.name}_{path.name}"
                if not link.is_symlink():
                    link.symlink_to(path.resolve())
            counts[source.name] += 1
    return counts
