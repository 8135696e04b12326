"""`vconductor data build`: dataset samples from one's own recording, as ConductorMotion100 was made.

Audio + the pose estimator's per-frame output for the same video -> the conductor in every frame (the best-scored,
largest person, kept continuous) -> the first 13 COCO joints -> short gaps of missing or unconfident joints
filled by linear interpolation -> 30 fps -> the paper's normalisation over the whole recording (shoulders 0.2
apart on average, time-mean hip centre at (0.5, 0.75)) -> mel features of the audio over the same span ->
non-overlapping samples of `seconds` (a shorter tail is dropped, as the official chunking does).

Samples with too much missing (a joint missing in more than `max_missing` of its frames, or for longer than
`max_gap_s` at once) are skipped with a reason; a recording that yields no usable sample is an error.

A build is all or nothing: every sample is written to a hidden folder beside its place (ignored by the
reader), and they are moved into place together once all are written; a failure puts back the samples they
replaced and removes the folders the build made, so the dataset is left as it was.
"""

import os
import re
import secrets
import shutil
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, load_audio, mel_features
from ..contract import missing_folders, remove_empty_folders
from ..skeleton import FPS, JOINT_NAMES, MEL_FRAMES_PER_MOTION_FRAME
from .dataset import write_sample
from .options import BuildOptions, SplitOptions
from .pose_import import read_detections
from .pose_track import (
    fill_missing,
    longest_runs,
    missing_mask,
    normalize_motion,
    resample_frames,
    select_conductor,
)

MAX_DURATION_MISMATCH_S = 1.0


class BuildError(ValueError):
    """A recording that cannot be turned into samples, with a one-line message."""


@dataclass
class Recording:
    """A recording ready to cut: motion (T, 13, 2) normalised at 30 fps, its missing mask, and mel (3T, 128)."""

    motion: np.ndarray
    missing: np.ndarray  # (T, 13) bool, after resampling: the joint was filled here
    mel: np.ndarray
    source_format: str


def prepare_recording(audio, poses, options: BuildOptions) -> Recording:
    """Read, select, fill, resample, normalise and featurise a whole recording (not yet cut)."""
    if options.fps is None:
        raise BuildError("--fps is required: the pose files carry no timing (give the video's frame rate)")
    if not np.isfinite(options.fps) or not 1.0 <= options.fps <= 1000.0:
        raise BuildError(f"--fps must be a video frame rate between 1 and 1000, got {options.fps}")
    if options.seconds < 1:
        raise BuildError(f"--seconds must be at least 1, got {options.seconds}")
    detections = read_detections(poses, options.pose_format)
    track = select_conductor(detections, options.min_score)
    num_frames = len(track.keypoints)
    if num_frames == 0 or not np.isfinite(track.keypoints).any():
        raise BuildError(f"{poses}: no person detected in any frame")
    sound = load_audio(audio)
    video_s, audio_s = num_frames / options.fps, sound.duration_s
    if abs(video_s - audio_s) > MAX_DURATION_MISMATCH_S:
        hint = (
            " (AlphaPose writes nothing for frames without a person: trailing empty frames shorten it)"
            if detections.source_format == "alphapose" and video_s < audio_s
            else ""
        )
        raise BuildError(
            f"the audio lasts {audio_s:.2f} s but the poses cover {video_s:.2f} s ({num_frames} frames at "
            f"{options.fps:g} fps): check --fps, or that both come from the same video{hint}"
        )

    missing = missing_mask(track, options.min_score)
    never = np.flatnonzero(missing.all(axis=0))
    if len(never):
        names = ", ".join(JOINT_NAMES[j] for j in never)
        raise BuildError(f"{poses}: {names} never detected with confidence >= {options.min_score:g}")
    filled = fill_missing(track.keypoints, missing)
    motion = resample_frames(filled, options.fps, FPS)
    missing_30 = resample_frames(missing.astype(float), options.fps, FPS) > 0
    length = min(len(motion), int(np.floor(audio_s * FPS + 1e-9)))
    motion, missing_30 = motion[:length], missing_30[:length]
    try:
        motion = normalize_motion(motion)
    except ValueError as exc:
        raise BuildError(f"{poses}: {exc}") from None
    samples = sound.samples[: int(round(length / FPS * SAMPLE_RATE))]
    mel = mel_features((samples, SAMPLE_RATE), num_frames=MEL_FRAMES_PER_MOTION_FRAME * length)
    return Recording(motion, missing_30, mel, track.source_format)


def _problem(missing: np.ndarray, options: BuildOptions) -> str | None:
    """Why a sample's missing joints are too many to fill, or None."""
    fraction = missing.mean(axis=0)
    worst = int(np.argmax(fraction))
    if fraction[worst] > options.max_missing:
        return f"{JOINT_NAMES[worst]} missing in {fraction[worst]:.0%} of frames (limit {options.max_missing:.0%})"
    runs = longest_runs(missing)
    worst = int(np.argmax(runs))
    if runs[worst] / FPS > options.max_gap_s:
        return f"{JOINT_NAMES[worst]} missing for {runs[worst] / FPS:.1f} s at once (limit {options.max_gap_s:g} s)"
    return None


def _assign_splits(n: int, where: SplitOptions) -> list[str]:
    if where.val_fraction is None:
        if where.test_fraction:
            raise BuildError("--test-fraction needs --val-fraction (use --val-fraction 0 for no val split)")
        return [where.split or "train"] * n
    val_fraction, test_fraction = where.val_fraction, where.test_fraction
    if not 0 <= val_fraction <= 1 or not 0 <= test_fraction <= 1 or val_fraction + test_fraction > 1:
        raise BuildError("--val-fraction and --test-fraction must be in [0, 1] and add up to at most 1")
    order = np.random.default_rng(where.split_seed).permutation(n)
    n_val, n_test = int(round(val_fraction * n)), int(round(test_fraction * n))
    names = ["train"] * n
    for k, i in enumerate(order):
        names[i] = "val" if k < n_val else "test" if k < n_val + n_test else "train"
    return names


def build_samples(
    audio,
    poses,
    out,
    options: BuildOptions | None = None,
    where: SplitOptions | None = None,
    *,
    name: str | None = None,
    overwrite: bool = False,
    report=print,
) -> list[Path]:
    """Write ``out/<split>/<name>-<k>/{mel.npy, motion.npy, meta.json}``; returns the sample folders written."""
    options, where = options or BuildOptions(), where or SplitOptions()
    split = where.split
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", name or Path(audio).stem).strip("._") or "recording"
    if split is not None and (not split or split.startswith(".") or "/" in split or "\\" in split):
        raise BuildError(f"--split {split!r} is not a usable split name")
    _assign_splits(0, where)  # bad options fail before the work
    rec = prepare_recording(audio, poses, options)
    per = options.seconds * FPS
    count = len(rec.motion) // per
    if count == 0:
        raise BuildError(
            f"the recording lasts {len(rec.motion) / FPS:.1f} s, shorter than one sample of {options.seconds} s "
            "(use a smaller --seconds)"
        )
    splits = _assign_splits(count, where)
    out = Path(out)
    targets = [out / splits[k] / f"{prefix}-{k:03d}" for k in range(count)]
    clashes = [t for t in targets if t.exists()]
    if clashes and not overwrite:
        raise BuildError(f"{clashes[0]}: a sample of this name exists (use --overwrite or another --name)")
    samples = []
    for k, target in enumerate(targets):
        frames = slice(k * per, (k + 1) * per)
        problem = _problem(rec.missing[frames], options)
        if problem:
            report(f"skipped sample {k} ({k * options.seconds}-{(k + 1) * options.seconds} s): {problem}")
            continue
        meta = {
            "source_audio": str(audio),
            "source_poses": str(poses),
            "pose_format": rec.source_format,
            "video_fps": options.fps,
            "start_s": k * options.seconds,
            "seconds": options.seconds,
            "filled_fraction": np.round(rec.missing[frames].mean(axis=0), 4).tolist(),
        }
        mel = rec.mel[k * per * MEL_FRAMES_PER_MOTION_FRAME : (k + 1) * per * MEL_FRAMES_PER_MOTION_FRAME]
        samples.append((target, mel, rec.motion[frames], meta))
    if not samples:
        raise BuildError(
            f"no usable sample: every {options.seconds} s sample has too many missing joints "
            "(see the reasons above; --max-missing / --max-gap / --min-score relax the limits)"
        )
    return _write_all_or_nothing(samples, out)


def _write_all_or_nothing(samples: list, out: Path) -> list[Path]:
    """Write every (target, mel, motion, meta) sample or none; a failure is a BuildError naming the sample."""
    token = secrets.token_hex(4)  # names this build's hidden folders, and nothing the user wrote
    made = missing_folders(target for target, *_ in samples)  # each sample is a folder in `out`
    staged: list[tuple[Path, Path]] = []  # (hidden folder holding the new sample, its place)
    current = out  # what a message names: the sample being written, else the dataset
    try:
        for target, mel, motion, meta in samples:
            current, hidden = target, target.with_name(f".{target.name}.{token}.new")
            staged.append((hidden, target))
            write_sample(hidden, mel, motion, meta)
        current = out
        _move_into_place(staged, token)
    except BaseException as exc:
        for folder, _ in staged:
            shutil.rmtree(folder, ignore_errors=True)
        remove_empty_folders(made)  # those left empty: something else may have been written there meanwhile
        if isinstance(exc, OSError):
            raise BuildError(_write_error(exc, current, token)) from None
        raise
    return [place for _, place in staged]


def _move_into_place(staged: list[tuple[Path, Path]], token: str) -> None:
    """Rename each new sample into its place; on a failure, undo every rename and restore what was replaced."""
    done: list[tuple[Path, Path | None]] = []  # (place, the sample it held before, renamed aside)
    try:
        for new, place in staged:
            previous = None
            if os.path.lexists(place):
                previous = place.with_name(f".{place.name}.{token}.old")
                os.replace(place, previous)
            done.append((place, previous))
            os.replace(new, place)
    except BaseException:
        for place, previous in reversed(done):
            with suppress(OSError):  # the first error is the one to report
                if os.path.lexists(place):
                    _delete(place)  # the new sample (the failed rename left nothing there)
                if previous is not None:
                    os.replace(previous, place)
        raise
    for _, previous in done:
        if previous is not None:
            _delete(previous)


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _write_error(exc: OSError, target: Path, token: str) -> str:
    """One line naming the sample (or the file in the way), never this build's hidden folders."""
    reason = exc.strerror or str(exc)
    where = exc.filename2 or exc.filename
    if where is not None and token not in os.fsdecode(where):
        reason += f": {os.fsdecode(where)}"
    return f"{target}: cannot write ({reason}); nothing was written, the dataset is as it was"
