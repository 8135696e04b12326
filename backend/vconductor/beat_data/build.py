"""`vconductor beats-data build`: render music21 corpus works into labelled beat-tracking samples.

For each work (taken in turn from every corpus folder, shuffled by the seed) and each variant: a tempo map, an
ensemble, a training soundfont and augmentations drawn from an RNG seeded by (seed, work, variant), so a
sample is the same whoever builds it and in whatever order. Long works are cut into windows of whole bars of
at most --max-seconds as performed. Output, all in OUT_DIR: NAME.flac + NAME.json per sample (samples.py) and
manifest.json listing what was built from which work; parsed scores are cached in OUT_DIR/.scores.

Resumable and interrupt-safe: every file is written whole or not at all, the manifest is rewritten after each
(work, variant), and a rerun skips what is complete; so Ctrl-C and running the same command again finishes it.
"""

import json
import re
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..contract import atomic_output
from ..scratch import scratch_folder
from .augment import augment
from .labels import beat_length_q
from .render import (
    TAIL_S,
    RenderError,
    check_general_midi,
    check_training_soundfont,
    draw_programs,
    evaluation_soundfonts,
    fluidsynth_executable,
    performance_midi,
    soundfont_label,
    synthesize,
    training_soundfonts,
)
from .samples import (
    BeatDataError,
    Window,
    cut_windows,
    label_record,
    sample_complete,
    window_notes,
    write_sample,
)
from .score_cache import load_score_data, save_score_data
from .scores import ScoreData, ScoreError, Work, first_time_signatures, is_held_out, list_works, read_score
from .tempo_map import random_tempo_map
from .textures import textured

MANIFEST_FILE = "manifest.json"
CACHE_FOLDER = ".scores"
HELD_OUT = (
    "never rendered: Fluid R3 soundfonts; Beethoven string quartets op. 18 and op. 59, Mozart K. 155-590, "
    "Haydn op. 1-76, Bach BWV 250-300 and BWV 66.6 (vconductor.beat_data.scores.is_held_out)"
)

EVALUATION = "evaluation set: held-out works only, Fluid R3 timbre, no augmentation; never train on it"


@dataclass
class BuildOptions:
    works: int = 20
    variants: int = 1
    seed: int = 0
    max_seconds: float = 240.0
    soundfonts: list[str] = field(default_factory=list)  # empty: the training soundfonts Debian installed
    work_ids: list[str] = field(
        default_factory=list
    )  # empty: --works of the whole corpus, in ordered_works order
    max_windows: int = 0  # windows rendered per performance (0: all), so long works do not crowd out the rest
    evaluation: bool = False  # held-out works only, with the Fluid R3 timbre and no augmentation
    metres: list[str] = field(default_factory=list)  # only works whose first time signature is one of these
    textures: bool = False  # each performance's accompaniment written again (textures.py)
    strict_time: bool = False  # played in strict time: the base tempo alone (tempo_map.py)


def ordered_works(works: list[Work], seed: int) -> list[Work]:
    """Every work once, taking one from each corpus folder in turn (folders and works shuffled by the seed), so
    the first few works span composers and styles instead of 1300 Palestrina masses."""
    rng = np.random.default_rng([seed, 1])
    groups: dict[str, list[Work]] = {}
    for work in works:
        groups.setdefault(work.group, []).append(work)
    queues = [[group[i] for i in rng.permutation(len(group))] for group in groups.values()]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    ordered = []
    for depth in range(max(map(len, queues), default=0)):
        ordered += [queue[depth] for queue in queues if depth < len(queue)]
    return ordered


def variant_rng(seed: int, work: Work, variant: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(work.id.encode()), variant])


def _score_data(out: Path, work: Work) -> ScoreData:
    cache = out / CACHE_FOLDER / f"{work.slug}.npz"
    data = load_score_data(cache)
    if data is None or data.work_id != work.id:
        data = read_score(work)
        save_score_data(cache, data)
    return data


def _render_window(
    data: ScoreData, window: Window, tempo, performance: dict, rng, clean: bool
) -> tuple[np.ndarray, dict]:
    """One window's audio and its JSON record."""
    lead_in = float(rng.uniform(0.0, 1.0))  # recordings start with a little silence, of any length
    notes = window_notes(data.notes, window.start_q, window.end_q)
    midi, drawn = performance_midi(
        notes, tempo, performance["programs"], rng, window.start_q, lead_in, data.labels.downbeats_q
    )
    audio, synth = synthesize(midi, performance["soundfont"], rng, scratch_folder(), evaluation=clean)
    length = float(tempo.seconds(window.end_q) - tempo.seconds(window.start_q)) + lead_in + TAIL_S
    audio = np.pad(audio, (0, max(0, int(length * SAMPLE_RATE) - len(audio))))[: int(length * SAMPLE_RATE)]
    audio, augmentation = (audio, {}) if clean else augment(audio, rng)
    record = label_record(data.labels, window, tempo, lead_in)
    record["window"] = {
        "index": window.index,
        "first_bar": window.first_bar,
        "last_bar": window.last_bar,
        "start_q": window.start_q,
        "end_q": window.end_q,
        "lead_in_s": round(lead_in, 4),
    }
    record["performance"] = drawn
    record["augmentation"] = {**synth, **augmentation}
    record["sample_rate"], record["duration_s"] = SAMPLE_RATE, len(audio) / SAMPLE_RATE
    return audio, record


def build_variant(out: Path, work: Work, data: ScoreData, variant: int, options, soundfonts) -> list[str]:
    """Render every window of one performance of a work (those already complete are kept); their names."""
    rng = variant_rng(options.seed, work, variant)
    beat_q = float(np.median([beat_length_q(b.numerator, b.denominator) for b in data.labels.bars]))
    texture = None
    if options.textures:
        data, texture = textured(data, beat_q, rng)
    tempo = random_tempo_map(
        rng,
        data.labels.end_q,
        data.labels.downbeats_q,
        beat_q,
        data.tempo_marks,
        data.fermatas,
        data.section_ends_q,
        strict=options.strict_time,
    )
    chorale = work.group == "bach" and data.num_parts == 4
    ensemble, programs = draw_programs(rng, data.part_register, chorale)
    soundfont = soundfonts[int(rng.integers(len(soundfonts)))]
    performance = {"programs": programs, "soundfont": soundfont}
    names = []
    windows = cut_windows(data.labels, tempo, options.max_seconds)
    if 0 < options.max_windows < len(windows):
        windows = [windows[i] for i in sorted(rng.choice(len(windows), options.max_windows, replace=False))]
    for window in windows:
        name = f"{work.slug}__v{variant}_w{window.index:02d}"
        window_rng = np.random.default_rng([options.seed, zlib.crc32(name.encode())])
        names.append(name)
        if sample_complete(out, name):
            continue
        started = time.perf_counter()
        audio, record = _render_window(data, window, tempo, performance, window_rng, options.evaluation)
        record["render_s"] = round(time.perf_counter() - started, 3)
        common = {
            "source": f"music21 corpus: {work.path}" + (f" #{work.number}" if work.number else ""),
            "work": work.id,
            "variant": variant,
            "gm_programs": programs,
            "ensemble": ensemble,
            "soundfont": soundfont_label(soundfont),
            "repeats_expanded": data.repeats_expanded,
            "tempo_events": _events_in(tempo.events, window),
        }
        if texture is not None:
            common["texture"] = texture
        if options.strict_time:
            common["strict_time"] = True
        write_sample(out, name, audio, {**common, **record})
    return names


def _events_in(events: list[dict], window: Window) -> list[dict]:
    """The drawn tempo events that touch the window (score quarters), and those of the whole piece."""
    where = ("at_q", "end_q")
    return [
        e
        for e in events
        if not any(k in e for k in where)
        or any(window.start_q <= e[k] <= window.end_q for k in where if k in e)
    ]


def _load_manifest(out: Path, options: BuildOptions) -> dict:
    path = out / MANIFEST_FILE
    if not path.is_file():
        return {"works": {}, "skipped": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BeatDataError(f"{path}: unreadable manifest ({exc}); remove it to start over") from None
    # manifests written before these options
    defaults = {"max_windows": 0, "evaluation": False, "metres": [], "strict_time": False}
    for key in ("seed", "max_seconds", "max_windows", "evaluation", "metres", "strict_time"):
        if manifest.get(key, defaults.get(key)) != getattr(options, key):
            raise BeatDataError(
                f"{out} was built with --{key.replace('_', '-')} {manifest.get(key)}: use the same value to "
                "resume, or another folder"
            )
    return manifest


def _save_manifest(out: Path, manifest: dict, options: BuildOptions, soundfonts) -> None:
    samples = [n for w in manifest["works"].values() for names in w["variants"].values() for n in names]
    manifest.update(
        generator="vconductor beats-data build",
        seed=options.seed,
        max_seconds=options.max_seconds,
        max_windows=options.max_windows,
        evaluation=options.evaluation,
        metres=options.metres,
        strict_time=options.strict_time,
        sample_rate=SAMPLE_RATE,
        soundfonts=[soundfont_label(s) for s in soundfonts],
        held_out=EVALUATION if options.evaluation else HELD_OUT,
        totals={"works": len(manifest["works"]), "samples": len(samples)},
    )
    with atomic_output(out / MANIFEST_FILE) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def _check_tools(options: BuildOptions) -> list[Path]:
    try:
        if options.evaluation:
            fonts = [check_general_midi(s) for s in options.soundfonts] or evaluation_soundfonts()
        else:
            fonts = [check_training_soundfont(s) for s in options.soundfonts] or training_soundfonts()
    except RenderError as exc:
        raise BeatDataError(str(exc)) from None
    if not fonts:
        wanted = (
            "fluid-soundfont-gm" if options.evaluation else "musescore-general-soundfont timgm6mb-soundfont"
        )
        raise BeatDataError(
            f"no {'evaluation' if options.evaluation else 'training'} soundfont found (Debian: "
            f"apt-get install {wanted})"
        )
    if fluidsynth_executable() is None:
        raise BeatDataError("the fluidsynth program is not installed (Debian: apt-get install fluidsynth)")
    if options.works < 1 or options.variants < 1 or not options.max_seconds > 0:
        raise BeatDataError("--works and --variants must be at least 1 and --max-seconds above 0")
    if bad := [m for m in options.metres if not re.fullmatch(r"[1-9]\d*/[1-9]\d*", m)]:
        raise BeatDataError(f"--metre {bad[0]}: not a time signature (e.g. 6/8)")
    if options.metres and options.work_ids:
        raise BeatDataError("--metre chooses among the whole corpus; --work names the works itself: use one")
    return fonts


def build_dataset(out, options: BuildOptions | None = None, *, progress: bool = True, report=print) -> dict:
    """Build (or finish) OUT_DIR; returns the manifest. See the module docstring."""
    from tqdm import tqdm

    options = options or BuildOptions()
    out = Path(out)
    soundfonts = _check_tools(options)
    if out.exists() and not out.is_dir():
        raise BeatDataError(f"{out}: exists and is not a folder")
    manifest = _load_manifest(out, options)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp"):  # left by a process killed mid-write
        stale.unlink(missing_ok=True)
    planned = len(set(options.work_ids)) or options.works  # named works are all built, however many
    bar = tqdm(total=planned * options.variants, desc="beats-data", unit="take", disable=not progress)
    started, built = time.perf_counter(), 0
    try:
        for work in _candidates(options):
            if work.id in manifest["skipped"]:  # before the count: extending --variants must pass over them
                continue
            if len(manifest["works"]) >= planned and work.id not in manifest["works"]:
                break
            bar.set_postfix_str(work.id)
            built += _build_work(out, work, manifest, options, soundfonts, bar, report)
    finally:
        bar.close()
    if progress:
        report(
            f"{out}: {manifest.get('totals', {})} ({built} rendered now in {time.perf_counter() - started:.0f} s)"
        )
    return manifest


def _candidates(options: BuildOptions) -> list[Work]:
    """The works to build in order: the chosen ones (never a held-out work), else the whole corpus's (those in
    --metre's time signatures only, when given)."""
    if not options.work_ids:
        works = list_works(include_held_out=True) if options.evaluation else list_works()
        if options.evaluation:
            works = [w for w in works if is_held_out(w.id)]
        if options.metres:
            signatures = first_time_signatures()
            works = [w for w in works if signatures.get(w.id) in options.metres]
        return ordered_works(works, options.seed)
    known = {work.id: work for work in list_works(include_held_out=True)}
    for work_id in options.work_ids:
        if options.evaluation and not is_held_out(work_id):
            raise BeatDataError(f"{work_id}: not a held-out work (an evaluation set holds only those)")
        if not options.evaluation and is_held_out(work_id):
            raise BeatDataError(f"{work_id}: a held-out evaluation work, never rendered for training")
        if work_id not in known:
            raise BeatDataError(
                f"{work_id}: not a music21 corpus work (ids look like bach/bwv1.6.mxl or x.abc#3)"
            )
    return [known[work_id] for work_id in options.work_ids]


def _build_work(out: Path, work: Work, manifest: dict, options, soundfonts, bar, report) -> int:
    """Every variant of one work (recording it in the manifest after each); how many samples were rendered."""
    entry = manifest["works"].get(work.id, {"variants": {}})
    todo = [v for v in range(options.variants) if not _variant_done(out, entry, v)]
    bar.update(options.variants - len(todo))
    if not todo:
        return 0
    try:
        data = _score_data(out, work)
    except Exception as exc:  # ScoreError, or music21 failing inside on a score it parsed: skip the work
        reason = str(exc) if isinstance(exc, ScoreError) else f"{work.id}: {type(exc).__name__}: {exc}"
        manifest["skipped"][work.id] = reason
        report(f"skipped {reason}")
        _save_manifest(out, manifest, options, soundfonts)
        return 0
    rendered = 0
    for variant in todo:
        before = sum(sample_complete(out, n) for n in entry["variants"].get(str(variant), []))
        names = build_variant(out, work, data, variant, options, soundfonts)
        rendered += len(names) - before
        entry["variants"][str(variant)] = names
        manifest["works"][work.id] = entry
        _save_manifest(out, manifest, options, soundfonts)
        bar.update()
    return rendered


def _variant_done(out: Path, entry: dict, variant: int) -> bool:
    names = entry["variants"].get(str(variant))
    return bool(names) and all(sample_complete(out, n) for n in names)
