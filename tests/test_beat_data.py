"""The beat tracker's training data (vconductor.beat_data): held-out rules, labels from real corpus scores, tempo
maps, a real fluidsynth render, and the resumable builder."""

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, REPO

pytest.importorskip(
    "music21", reason="the beats-data extra is not installed (pip install -e '.[beats-data]')"
)
pytest.importorskip(
    "pretty_midi", reason="the beats-data extra is not installed (pip install -e '.[beats-data]')"
)

from vconductor.beat_data.build import BeatDataError, BuildOptions, build_dataset  # noqa: E402
from vconductor.beat_data.labels import Bar, bar_labels  # noqa: E402
from vconductor.beat_data.render import (  # noqa: E402
    RENDER_PROGRAMS,
    RenderError,
    check_general_midi,
    check_training_soundfont,
    draw_articulation,
    fluidsynth_executable,
    performance_midi,
    synthesize,
    training_soundfonts,
)
from vconductor.beat_data.scores import NOTE_DTYPE, Work, is_held_out, list_works, load_score, read_score  # noqa: E402
from vconductor.beat_data.tempo_map import TempoMap, random_tempo_map  # noqa: E402

FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
HELD_OUT = [
    "beethoven/opus18no1/movement1.mxl",
    "beethoven/opus18no3.mxl",
    "beethoven/opus59no2/movement3.mxl",
    "mozart/k155/movement1.mxl",
    "mozart/k458/movement4.mxl",
    "haydn/opus1no1/movement5.mxl",
    "haydn/opus74no1/movement2.mxl",
    "bach/bwv250.mxl",
    "bach/bwv277.mxl",
    "bach/bwv300.mxl",
    "bach/bwv66.6.mxl",
]
TRAINABLE = [
    "beethoven/opus74.mxl",
    "beethoven/opus132.mxl",
    "mozart/k80/movement1.mxl",
    "bach/bwv248.5.mxl",
    "bach/bwv301.mxl",
    "bach/bwv166.6.mxl",
    "bach/bwv6.6.mxl",
    "bach/bwv26.6.mxl",
    "joplin/maple_leaf_rag.mxl",
]


def _needs_fluidsynth():
    if fluidsynth_executable() is None:
        pytest.skip("the fluidsynth program is not installed (Debian: apt-get install fluidsynth)")
    fonts = [f for f in training_soundfonts() if f.name.startswith("TimGM6mb")] or training_soundfonts()
    if not fonts:
        pytest.skip(
            "no training soundfont installed (Debian: musescore-general-soundfont, timgm6mb-soundfont)"
        )
    return fonts[0]  # TimGM6mb loads in a fraction of a second


@pytest.fixture(scope="module")
def corpus_ids():
    return {w.id for w in list_works(include_held_out=True)}, {w.id for w in list_works()}


def test_held_out_rules_on_real_corpus_paths(corpus_ids):
    every, trainable = corpus_ids
    assert set(HELD_OUT) <= every and set(TRAINABLE) <= every  # real paths, not made-up ones
    assert [p for p in HELD_OUT if not is_held_out(p)] == []
    assert [p for p in TRAINABLE if is_held_out(p)] == []
    assert not set(HELD_OUT) & trainable and set(TRAINABLE) <= trainable
    # the spellings of the evaluation set itself (../shared/corpus names and sources)
    for name in (
        "bach/bwv277.krn",
        "bach_bwv66.6",
        "music21 corpus: beethoven/opus18no1/movement1.mxl",
        "mozart_k458_movement1",
    ):
        assert is_held_out(name), name
    assert not [w for w in trainable if is_held_out(w)]


def test_labels_pickup_split_bars_and_compound_metres():
    four = bar_labels([Bar(0, 1, 4, 4), Bar(1, 4, 4, 4), Bar(5, 3, 4, 4), Bar(8, 1, 4, 4), Bar(9, 4, 4, 4)])
    assert four.beats_q.tolist() == list(range(13)) and four.beat_in_bar[:6].tolist() == [4, 1, 2, 3, 4, 1]
    assert four.downbeats_q.tolist() == [1, 5, 9]  # 3 + 1 quarters around a repeat make one bar
    jig = bar_labels([Bar(0, 0.5, 6, 8), Bar(0.5, 3, 6, 8), Bar(3.5, 3, 6, 8)])
    assert jig.beats_q.tolist() == [0.5, 2.0, 3.5, 5.0]  # an eighth pickup holds no beat
    assert jig.counts_q.tolist()[:3] == [0.0, 0.5, 1.0] and jig.count_in_bar[:3].tolist() == [6, 1, 2]


def test_real_chorale_with_pickup_matches_the_shared_corpus_labels():
    reference = CORPUS / "bach_bwv66.6.json"
    if not reference.is_file():
        pytest.skip("needs ../shared/corpus/bach_bwv66.6.json (not beside this checkout)")
    truth = json.loads(reference.read_text())
    (_, bpm), *rest = truth["tempo_map_quarters_bpm"]
    assert not rest  # a constant tempo: quarters * 60 / bpm are its seconds
    labels = read_score(Work("bach/bwv66.6.mxl")).labels  # held out from training, but labelled for checks
    beats, downbeats = labels.beats_q * 60 / bpm, labels.downbeats_q * 60 / bpm
    assert labels.beat_in_bar[0] == 4 and labels.bar_phase_q[0] == 3  # a one-quarter pickup is beat 4
    assert np.allclose(downbeats, truth["downbeats_s"], atol=1e-5)
    shared_beats = np.array(truth["beats_s"])
    inside = shared_beats < labels.end_q * 60 / bpm - 1e-6  # the shared grid also marks the final bar line
    assert np.allclose(beats, shared_beats[inside], atol=1e-5)
    assert truth["time_signatures"] == [[0.0, 4, 4]] and {
        (b.numerator, b.denominator) for b in labels.bars
    } == {(4, 4)}


def test_a_real_jig_beats_in_dotted_quarters():
    data = read_score(Work("airdsAirs/book1.abc", "17"))
    labels = data.labels
    assert {(b.numerator, b.denominator) for b in labels.bars} == {(6, 8)}
    assert np.allclose(np.diff(labels.beats_q), 1.5) and set(labels.beat_in_bar.tolist()) == {1, 2}
    assert np.allclose(np.diff(labels.downbeats_q), 3.0)
    assert len(labels.counts_q) == 3 * len(labels.beats_q) and set(labels.count_in_bar.tolist()) == set(
        range(1, 7)
    )


def test_repeats_are_expanded_as_played():
    work = Work("ryansMammoth/BanjoReel.abc")
    written = load_score(work)
    data = read_score(work)
    assert data.repeats_expanded
    assert len(written.parts[0].getElementsByClass("Measure")) == 11 and len(data.labels.bars) == 20
    assert written.highestTime == 35.0 and data.labels.end_q == 64.0
    assert data.notes["onset_q"].max() > 35.0  # the repeated strain is played, not only labelled
    assert np.allclose(np.diff(data.labels.downbeats_q), 4.0)  # 3 + 1 quarters across each repeat: one bar


def test_a_part_with_an_overfull_bar_stays_with_the_others_and_with_the_labels():
    # Haydn op. 74/1 iii (held out from training, labelled for checks): the first violin's bar 58 holds 3.25
    # quarters. Read without aligning the parts' bars, the violin and the labels (drawn from its bars) went on
    # a sixteenth later than the three other parts for the rest of the movement: 110 ms at a minuet's tempo.
    data = read_score(Work("haydn/opus74no1/movement3.mxl"))
    overfull = next(b for b in data.labels.bars if b.length_q > 3.0)
    after = overfull.start_q + overfull.length_q
    assert (overfull.start_q, overfull.length_q) == (171.0, 3.25)
    for part in range(data.num_parts):
        onsets = data.notes["onset_q"][data.notes["part"] == part]
        assert onsets[onsets >= overfull.start_q + 3.0].min() == after, part  # no part plays at 174.0
    beats = data.labels.beats_q
    assert after in beats and (after + 1.0) in beats and 174.0 not in beats


def _tempo(seed: int) -> TempoMap:
    downbeats = np.arange(1.0, 200.0, 4.0)
    return random_tempo_map(
        np.random.default_rng(seed),
        201.0,
        downbeats,
        1.0,
        fermatas=[(40.0, 42.0)],
        section_ends_q=[101.0, 201.0],
    )


def test_tempo_maps_are_monotone_invertible_and_seeded():
    for seed in range(20):
        tempo = _tempo(seed)
        assert np.all(np.diff(tempo.grid_s) > 0)
        q = np.linspace(-3, 230, 999)
        assert np.all(np.diff(tempo.seconds(q)) > 0)
        inside = q[(q >= 0) & (q <= tempo.grid_q[-1])]
        assert np.allclose(tempo.quarters(tempo.seconds(inside)), inside, atol=1e-9)
        beat_s = np.diff(tempo.seconds(np.arange(0.0, 201.0)))
        assert beat_s.min() >= 60 / 300 and beat_s.max() <= 3 * 60 / 30  # tempo limits, a fermata at most 3x
        held = tempo.seconds(42.0) - tempo.seconds(40.0)
        around = (tempo.seconds(40.0) - tempo.seconds(38.0) + tempo.seconds(44.0) - tempo.seconds(42.0)) / 2
        assert held > 1.3 * around  # the fermata is held longer than the beats around it
    assert np.array_equal(_tempo(3).grid_s, _tempo(3).grid_s)
    assert not np.allclose(_tempo(3).grid_s, _tempo(4).grid_s)


def test_a_strict_time_performance_keeps_its_base_tempo_and_the_seed_s_other_draws():
    downbeats = np.arange(1.0, 200.0, 4.0)
    for seed in range(10):
        shaped_rng, strict_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        shaped = random_tempo_map(shaped_rng, 201.0, downbeats, 1.0, [], [(40.0, 42.0)], [101.0, 201.0])
        strict = random_tempo_map(
            strict_rng, 201.0, downbeats, 1.0, [], [(40.0, 42.0)], [101.0, 201.0], strict=True
        )
        bpm = strict.quarter_bpm(np.arange(0.0, 201.0, 0.5))
        # one tempo throughout, the fermata not held: the shaped performance's base tempo
        assert np.allclose(bpm, shaped.events[0]["beat_bpm"], atol=0.01)
        assert [e["kind"] for e in strict.events] == ["base"]
        assert {e["kind"] for e in shaped.events} > {"base", "fermata"}
        assert shaped_rng.random() == strict_rng.random()  # the same draws taken: the seed's next ones agree
    marked = random_tempo_map(
        np.random.default_rng(0), 40.0, downbeats[:10], 1.0, [(0.0, 90.0), (20.0, 60.0)], strict=True
    )
    factor = marked.events[0]["factor"]
    assert np.allclose(
        marked.quarter_bpm([5.0, 30.0]), [90.0 * factor, 60.0 * factor], rtol=1e-3
    )  # marks kept


def test_a_real_render_has_its_onsets_on_the_labelled_beats():
    import librosa

    soundfont = _needs_fluidsynth()
    labels = bar_labels([Bar(float(3 * k), 3.0, 3, 4) for k in range(6)])
    notes = np.array(
        [(q, 1.0, 60 + 7 * (b == 1), 0, 90) for q, b in zip(labels.beats_q, labels.beat_in_bar, strict=True)],
        dtype=NOTE_DTYPE,
    )
    rng = np.random.default_rng(0)
    tempo = random_tempo_map(rng, labels.end_q, labels.downbeats_q, 1.0)
    midi, drawn = performance_midi(notes, tempo, [0], rng, 0.0, 0.5)  # piano: sharp attacks
    audio, _ = synthesize(midi, soundfont, rng)
    beats = tempo.seconds(labels.beats_q) + 0.5
    note_ons = np.array([n.start for n in midi.instruments[0].notes])
    assert np.all(np.abs(note_ons - beats) <= 4 * drawn["timing_jitter_s"] + 1e-6)
    onsets = librosa.onset.onset_detect(y=audio, sr=22050, units="time", backtrack=True)
    nearest = np.array([np.min(np.abs(onsets - b)) for b in beats])
    assert np.all(nearest < 0.06), nearest.round(3)  # the note-ons' jitter plus librosa's (up to ~40 ms)
    assert len(onsets) == len(beats)  # and no onset off the beats


def test_notes_are_played_as_written_legato_or_detached():
    rng = np.random.default_rng(0)
    draws = [draw_articulation(rng) for _ in range(3000)]
    kinds = [kind for kind, _, _ in draws]
    assert 0.3 < kinds.count("written") / 3000 < 0.4 and 0.4 < kinds.count("detached") / 3000 < 0.5
    for kind, legato, jitter in draws:
        low, high = {"written": (1.0, 1.0), "legato": (1.0, 1.08), "detached": (0.75, 1.0)}[kind]
        assert low <= legato <= high and (jitter == 0.0) == (kind == "written")
    # a repeated pitch played legato: each note ends where the next begins, never after (its note-off would
    # silence the next note); another pitch overlaps freely
    labels = bar_labels([Bar(float(4 * k), 4.0, 4, 4) for k in range(3)])
    notes = np.array([(q, 1.0, 60 + 4 * (q >= 8), 0, 90) for q in labels.beats_q], dtype=NOTE_DTYPE)
    tempo = random_tempo_map(rng, labels.end_q, labels.downbeats_q, 1.0)
    seen = set()
    for seed in range(40):
        midi, drawn = performance_midi(notes, tempo, [48], np.random.default_rng(seed), 0.0, 0.5)
        seen.add(drawn["articulation"])
        played = sorted(midi.instruments[0].notes, key=lambda n: n.start)
        for note, following in itertools.pairwise(played):
            if note.pitch == following.pitch:
                assert note.end <= following.start + 1e-9
        if drawn["articulation"] == "written":
            gaps = [following.start - note.end for note, following in itertools.pairwise(played)]
            assert np.allclose(gaps, 0.0, atol=2e-3)  # no gap a network could take for a beat
    assert seen == {"written", "legato", "detached"}


def test_the_accent_falls_on_the_downbeats_only():
    labels = bar_labels([Bar(float(3 * k), 3.0, 3, 4) for k in range(8)])  # 3/4: every beat a quarter
    notes = np.array([(q, 1.0, 60, 0, 80) for q in labels.beats_q], dtype=NOTE_DTYPE)
    rng = np.random.default_rng(0)
    tempo = random_tempo_map(rng, labels.end_q, labels.downbeats_q, 1.0)
    louder = []
    for seed in range(60):
        midi, drawn = performance_midi(
            notes, tempo, [48], np.random.default_rng(seed), 0.0, 0.5, labels.downbeats_q
        )
        velocity = np.array([n.velocity for n in sorted(midi.instruments[0].notes, key=lambda n: n.start)])
        on_downbeat = labels.beat_in_bar == 1  # counted from 1
        louder.append(velocity[on_downbeat].mean() - velocity[~on_downbeat].mean())
        assert 0.0 <= drawn["downbeat_accent"] <= 10.0
    # the accent (0-10, 5 on average) against the velocity jitter (sd 4): the downbeats louder on average,
    # the other beats of the bar never singled out
    assert 3.0 < np.mean(louder) < 7.0
    midi, _ = performance_midi(notes, tempo, [48], np.random.default_rng(1), 0.0, 0.5)
    plain = np.array([n.velocity for n in midi.instruments[0].notes])
    assert abs(plain[labels.beat_in_bar == 1].mean() - plain[labels.beat_in_bar != 1].mean()) < 3.0


def test_codec_round_trip_keeps_time():
    from scipy.signal import correlate

    from vconductor.beat_data.augment import codec_round_trip

    clicks = np.zeros(22050 * 3, np.float32)
    clicks[np.arange(1, 6) * 11025] = 1.0
    for codec, bitrate in (("mp3", 64), ("ogg", 48)):
        out = codec_round_trip(clicks, codec, bitrate)
        lag = int(np.argmax(correlate(out, clicks, "full"))) - (len(clicks) - 1)
        assert len(out) == len(clicks) and abs(lag) <= 1, (codec, lag)


def test_fluid_r3_soundfonts_are_refused_by_name_link_and_content(tmp_path):
    fake = tmp_path / "bank.sf2"  # an innocent name with Fluid R3's bank name inside
    fake.write_bytes(b"RIFF\0\0\0\0sfbkLIST\0\0\0\0INFOifil\4\0\0\0\2\0\1\0INAM\x0c\0\0\0Fluid R3 GM\0")
    link = tmp_path / "default-GM.sf2"
    link.symlink_to(fake)
    for path in (fake, link, tmp_path / "FluidR3_GM.sf2"):
        if not path.exists():
            path.write_bytes(b"RIFF")
        with pytest.raises(RenderError, match="held-out evaluation timbre"):
            check_training_soundfont(path)
    with pytest.raises(BeatDataError, match="held-out evaluation timbre"):
        build_dataset(tmp_path / "out", BuildOptions(soundfonts=[str(fake)]), progress=False)


def _soundfont(path: Path, presets: list[tuple[int, int]]) -> Path:
    """A minimal soundfont file: its name, an odd-sized sample list without the pad byte (as
    FluidR3Mono_GM.sf3 has), and a preset header per (program, bank) plus the terminator."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return kind + struct.pack("<I", len(data)) + data

    headers = b"".join(struct.pack("<20sHHHIII", b"p", p, b, 0, 0, 0, 0) for p, b in [*presets, (0, 255)])
    info = chunk(b"LIST", b"INFO" + chunk(b"INAM", b"Test bank\0\0"))
    samples = chunk(b"LIST", b"sdta" + chunk(b"smpl", b"\0" * 7))
    path.write_bytes(
        chunk(b"RIFF", b"sfbk" + info + samples + chunk(b"LIST", b"pdta" + chunk(b"phdr", headers)))
    )
    return path


def test_a_soundfont_without_the_general_midi_programs_is_refused_before_rendering(tmp_path):
    # Debian's FluidR3_GS.sf2 holds GS variations only (banks 1-128): every part rendered with it was silent
    supplement = _soundfont(tmp_path / "variations.sf2", [(p, 8) for p in RENDER_PROGRAMS])
    partial = _soundfont(tmp_path / "strings.sf2", [(40, 0), (41, 0), (42, 0)])
    full = _soundfont(tmp_path / "gm.sf2", [(p, 0) for p in range(128)])
    for font, missing in ((supplement, len(RENDER_PROGRAMS)), (partial, len(RENDER_PROGRAMS) - 3)):
        for check in (check_general_midi, check_training_soundfont):
            with pytest.raises(RenderError, match=f"not a General MIDI soundfont: bank 0 lacks {missing} of"):
                check(font)
    assert check_general_midi(full) == full.resolve() == check_training_soundfont(full)
    for evaluation in (False, True):
        with pytest.raises(BeatDataError, match="variations.sf2: not a General MIDI soundfont"):
            options = BuildOptions(soundfonts=[str(supplement)], evaluation=evaluation)
            build_dataset(tmp_path / "out", options, progress=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.flac"))


def test_a_render_that_comes_out_silent_is_refused(tmp_path):
    import pretty_midi

    soundfont = _needs_fluidsynth()
    midi = pretty_midi.PrettyMIDI()
    midi.instruments.append(pretty_midi.Instrument(program=40))  # a part with no notes: silence
    with pytest.raises(RenderError, match="rendered silence with"):
        synthesize(midi, soundfont, np.random.default_rng(0), tmp_path)


def test_the_builder_writes_labelled_samples_and_resumes(tmp_path):
    soundfont = _needs_fluidsynth()
    out = tmp_path / "beats"
    options = BuildOptions(
        works=1,
        seed=0,
        max_seconds=12.0,
        soundfonts=[str(soundfont)],
        work_ids=["essenFolksong/ballad10.abc#3"],
    )
    lines = []
    manifest = build_dataset(out, options, progress=True, report=lines.append)
    names = manifest["works"]["essenFolksong/ballad10.abc#3"]["variants"]["0"]
    assert (
        names and manifest["totals"]["samples"] == len(names) and f"({len(names)} rendered now" in lines[-1]
    )
    record = json.loads((out / f"{names[0]}.json").read_text())
    assert record["beats_s"] and record["downbeats_s"] and record["sample_rate"] == 22050
    assert record["time_signatures"][0][1:] == [2, 4] and len(record["beat_in_bar"]) == len(record["beats_s"])
    assert "TimGM6mb" in record["soundfont"] and 0 < record["beats_s"][0] < record["duration_s"]
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    lines.clear()
    build_dataset(out, options, progress=True, report=lines.append)
    assert "(0 rendered now" in lines[-1]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix == ".flac"} == {
        n: t for n, t in stamps.items() if n.endswith(".flac")
    }
    with pytest.raises(BeatDataError, match="built with --strict-time False"):  # no mixed performances
        build_dataset(out, BuildOptions(**{**vars(options), "strict_time": True}), progress=False)
    with pytest.raises(BeatDataError, match="held-out"):
        build_dataset(out, BuildOptions(work_ids=["bach/bwv66.6.mxl"], max_seconds=12.0), progress=False)


def test_metre_chooses_works_by_their_written_time_signature(tmp_path):
    soundfont = _needs_fluidsynth()
    options = BuildOptions(works=2, seed=3, max_seconds=12.0, soundfonts=[str(soundfont)], metres=["9/8"])
    manifest = build_dataset(tmp_path / "nine", options, progress=False)
    assert len(manifest["works"]) == 2 and manifest["metres"] == ["9/8"]
    for entry in manifest["works"].values():
        record = json.loads((tmp_path / "nine" / f"{entry['variants']['0'][0]}.json").read_text())
        assert record["time_signatures"][0][1:] == [9, 8]
    with pytest.raises(BeatDataError, match="built with --metres"):  # a folder keeps its works
        build_dataset(tmp_path / "nine", BuildOptions(**{**vars(options), "metres": ["6/8"]}), progress=False)
    with pytest.raises(BeatDataError, match="not a time signature"):
        build_dataset(tmp_path / "bad", BuildOptions(metres=["six-eight"]), progress=False)


def test_more_variants_extend_a_folder_past_its_skipped_works(tmp_path):
    soundfont = _needs_fluidsynth()
    unusable, usable = "josquin/oVenusBant.abc#1", "essenFolksong/ballad10.abc#3"  # the first has no bars
    options = BuildOptions(
        works=1, seed=0, max_seconds=12.0, soundfonts=[str(soundfont)], work_ids=[unusable, usable]
    )
    manifest = build_dataset(tmp_path, options, progress=False)
    assert unusable in manifest["skipped"] and list(manifest["works"]) == [usable]
    manifest = build_dataset(tmp_path, BuildOptions(**{**vars(options), "variants": 2}), progress=False)
    variants = manifest["works"][usable]["variants"]
    assert sorted(variants) == ["0", "1"] and all((tmp_path / f"{n}.flac").is_file() for n in variants["1"])


def test_every_named_work_is_built_whatever_works_says(tmp_path):
    soundfont = _needs_fluidsynth()
    named = ["essenFolksong/ballad10.abc#3", "essenFolksong/ballad10.abc#5"]
    options = BuildOptions(works=1, seed=0, max_seconds=8.0, soundfonts=[str(soundfont)], work_ids=named)
    manifest = build_dataset(tmp_path, options, progress=False)
    assert sorted(manifest["works"]) == sorted(named)


def test_the_runtime_never_imports_the_training_data_code():
    code = (
        "import sys; import vconductor.cli as c, vconductor.pipeline, vconductor.service; c.build_parser(); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'music21', 'pretty_midi'} "
        "or (m.startswith('vconductor.beat_data') and m not in {'vconductor.beat_data', 'vconductor.beat_data.cli'}));"
        "print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_cli_refuses_fluid_r3_in_one_line(tmp_path):
    if not FLUID_R3.is_file() or shutil.which("fluidsynth") is None:
        pytest.skip(
            "needs fluidsynth and Debian's fluid-soundfont-gm (the held-out timbre, installed by .ci/run)"
        )
    env = {**os.environ, "PYTHONPATH": str(REPO / "backend")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vconductor",
            "beats-data",
            "build",
            str(tmp_path / "x"),
            "--soundfont",
            str(FLUID_R3),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "held-out" in done.stderr, done.stderr
    assert not (tmp_path / "x").exists()


def test_ctrl_c_leaves_only_whole_samples_and_the_same_command_finishes(tmp_path):
    soundfont = _needs_fluidsynth()
    out = tmp_path / "beats"
    # Four variants: after the first sample there is seconds of work left for the interrupt to land in.
    command = [sys.executable, "-m", "vconductor", "beats-data", "build", str(out), "--max-seconds", "4", "-q",
               "--variants", "4", "--soundfont", str(soundfont), "--work", "ryansMammoth/BanjoReel.abc"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO / "backend")}
    # A shell running this suite in the background starts its children with SIGINT ignored, which the build
    # would inherit (Python then installs no KeyboardInterrupt handler): give it a terminal's default.
    build = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 60
    while not _sample_jsons(out) and time.monotonic() < deadline and build.poll() is None:
        time.sleep(0.05)
    build.send_signal(signal.SIGINT)  # mid-build: some samples are written, others not yet
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 130 and "run the same command again to resume" in stderr, stderr
    partial = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert partial in ([], [".scores"])  # no temp file left behind
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    variants = json.loads((out / "manifest.json").read_text())["works"]["ryansMammoth/BanjoReel.abc"][
        "variants"
    ]
    names = [name for variant in variants.values() for name in variant]
    assert len(variants) == 4 and len(names) > 8
    assert sorted(p.stem for p in _sample_jsons(out)) == sorted(names)
    assert sorted(p.stem for p in out.glob("*.flac")) == sorted(names)


def _sample_jsons(folder):
    return [p for p in folder.glob("*.json") if p.stem != "manifest"]


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_an_evaluation_set_holds_only_held_out_works_in_the_fluid_r3_timbre_unaugmented(tmp_path):
    if not FLUID_R3.is_file() or shutil.which("fluidsynth") is None:
        pytest.skip(
            "needs fluidsynth and Debian's fluid-soundfont-gm (the evaluation timbre, installed by .ci/run)"
        )
    out = tmp_path / "eval"
    options = BuildOptions(
        seed=0, max_seconds=15.0, max_windows=1, evaluation=True, work_ids=["bach/bwv253.mxl"]
    )
    manifest = build_dataset(out, options, progress=False)
    (name,) = manifest["works"]["bach/bwv253.mxl"]["variants"]["0"]
    record = json.loads((out / f"{name}.json").read_text())
    assert "FluidR3" in record["soundfont"] and set(record["augmentation"]) <= {
        "fluidsynth_reverb",
        "fluidsynth_chorus",
    }
    assert manifest["evaluation"] is True and "never train" in manifest["held_out"]
    with pytest.raises(BeatDataError, match="not a held-out work"):
        build_dataset(
            tmp_path / "e2", BuildOptions(evaluation=True, work_ids=["bach/bwv6.6.mxl"]), progress=False
        )
    with pytest.raises(BeatDataError, match="--evaluation"):  # a folder keeps what it was built as
        build_dataset(
            out, BuildOptions(seed=0, max_seconds=15.0, max_windows=1, work_ids=["bach/bwv6.6.mxl"])
        )


def test_click_tracks_are_labelled_metronomes_with_metre_changes(tmp_path):
    from vconductor.beat_data.clicks import build_clicks

    assert build_clicks(tmp_path, 6, seed=3) == 6 and build_clicks(tmp_path, 6, seed=3) == 0  # resumable
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("clicks__*.json"))]
    lengths = set()
    for record in records:
        beats, downbeats = np.array(record["beats_s"]), np.array(record["downbeats_s"])
        in_bar = np.array(record["beat_in_bar"])
        assert np.all(np.diff(beats) > 0.25) and np.array_equal(beats[in_bar == 0], downbeats)
        assert record["duration_s"] > beats[-1] and record["work"].startswith("clicks/")
        lengths |= {bar[1] for bar in record["bars"]}
    assert lengths <= {2, 3, 4} and len(lengths) >= 2


def _fake_sample(folder: Path, name: str, work: str, window: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.flac").write_bytes(b"fLaC")
    record = {"work": work, "window": {"index": window}, "beats_s": [0.5], "downbeats_s": [0.5]}
    (folder / f"{name}.json").write_text(json.dumps(record))


def test_merge_links_samples_of_several_folders_leaving_out_works_and_windows(tmp_path):
    """`beats-data merge`: every sample of each folder linked as FOLDER_NAME (nothing copied), the works of
    --without-works-of and windows off --every-nth-window left out, a second run adds only what is new, and a
    held-out work is refused in one line."""
    for w in range(6):
        _fake_sample(tmp_path / "quartets", f"beethoven_opus74__v0_w{w:02d}", "beethoven/opus74.mxl", w)
    _fake_sample(tmp_path / "random", "bach_bwv1.6__v0_w00", "bach/bwv1.6.mxl")
    _fake_sample(tmp_path / "random", "jig__v0_w00", "ryansMammoth/BoysOfBallisodareJig.abc")
    _fake_sample(tmp_path / "dev", "bach_bwv1.6__v0_w00", "bach/bwv1.6.mxl")
    command = [sys.executable, "-m", "vconductor", "beats-data", "merge", str(tmp_path / "train"),
               str(tmp_path / "quartets"), str(tmp_path / "random"), "--without-works-of", str(tmp_path / "dev"),
               "--every-nth-window", "3"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO / "backend")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 from quartets, 1 from random; 5 left out" in done.stdout
    names = sorted(p.name for p in (tmp_path / "train").iterdir())
    assert names == sorted(
        f"{s}.{ext}"
        for s in (
            "quartets_beethoven_opus74__v0_w00",
            "quartets_beethoven_opus74__v0_w03",
            "random_jig__v0_w00",
        )
        for ext in ("flac", "json")
    )
    assert all((tmp_path / "train" / n).is_symlink() for n in names)
    _fake_sample(tmp_path / "random", "k80__v0_w00", "mozart/k80/movement1.mxl")
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert (
        again.returncode == 0
        and "2 from random" in again.stdout
        and len(list((tmp_path / "train").iterdir())) == 8
    )

    _fake_sample(tmp_path / "bad", "k458__v0_w00", "mozart/k458/movement1.mxl")
    bad = subprocess.run(
        [*command[:6], str(tmp_path / "bad")], capture_output=True, text=True, env=env, timeout=120
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "held out" in bad.stderr, bad.stderr


def test_a_texture_keeps_the_bars_and_melody_and_writes_the_accompaniment_in_subdivided_beats():
    """beats-data build --textures (beat_data/textures.py) on a real chorale: same labels, the top voice as it
    was, a bass note on every beat, the inner voice in equal subdivisions of each beat, a slow or fast tempo."""
    from vconductor.beat_data.textures import FAST_BPM, SLOW_BPM, textured

    chorale = read_score(Work("bach/bwv26.6.mxl"))
    drawn_tempi, figures = [], set()
    for seed in range(8):
        data, drawn = textured(chorale, 1.0, np.random.default_rng(seed))
        assert data.labels is chorale.labels and data.num_parts == 3
        top = chorale.notes[chorale.notes["part"] == 0]  # the soprano
        assert np.array_equal(
            data.notes[data.notes["part"] == 0][["onset_q", "pitch"]], top[["onset_q", "pitch"]]
        )
        bass, inner = (data.notes[data.notes["part"] == p] for p in (2, 1))
        beats = chorale.labels.beats_q
        assert np.allclose(bass["onset_q"], beats) and bass["pitch"].min() >= 36
        per_beat = drawn["notes_per_beat"]
        onsets = np.unique(inner["onset_q"])
        assert len(onsets) == per_beat * len(beats)
        assert np.allclose(onsets[::per_beat], beats) and np.allclose(
            np.diff(onsets[:per_beat]), 1.0 / per_beat
        )
        assert inner["pitch"].min() >= 55 and inner["pitch"].max() < 55 + 24
        assert data.tempo_marks == [(0.0, pytest.approx(drawn["beat_bpm"], abs=0.01))]
        drawn_tempi.append(drawn["beat_bpm"])
        figures.add(drawn["figure"])
    assert all(SLOW_BPM[0] <= t <= SLOW_BPM[1] or FAST_BPM[0] <= t <= FAST_BPM[1] for t in drawn_tempi)
    assert min(drawn_tempi) < SLOW_BPM[1] and max(drawn_tempi) > FAST_BPM[0] and len(figures) > 1
