"""Cancellation points: work under `cancellable(check)` stops at the next point in every stage of the analysis
and of the procedural conductor, with the check's own exception; outside such a block the points do nothing."""

import pytest

from conftest import REPO
from vconductor.conducting import analyze, conduct
from vconductor.progress import cancellable, cancellation_point

EXAMPLE = REPO / "examples" / "ode_to_joy.ogg"


class Stop(Exception):
    pass


def test_points_run_the_enclosing_check_only():
    calls = []
    cancellation_point()  # outside any block: nothing to check
    with cancellable(lambda: calls.append("outer")):
        cancellation_point()
        with cancellable(lambda: calls.append("inner")):
            cancellation_point()
        cancellation_point()
    cancellation_point()
    assert calls == ["outer", "inner", "outer"]


@pytest.fixture(scope="module")
def points_by_stage():
    """How many cancellation points each stage of analysing and conducting the example passes."""
    stage, counts = ["decoding"], {}

    def check():
        counts[stage[0]] = counts.get(stage[0], 0) + 1

    def progress(fraction, message):
        stage[0] = message

    with cancellable(check):
        analysis = analyze(EXAMPLE, progress=progress)
        stage[0] = "conducting"
        conduct(analysis, 300)
    return counts, analysis


def test_every_stage_has_points(points_by_stage):
    counts, _ = points_by_stage
    assert counts["music analysis: spectral features"] >= 1  # per block of spectrogram frames
    assert counts["music analysis: tempo and beats"] >= 3  # tempogram blocks, tempo-path chunks
    assert counts["music analysis: beat tracking"] >= 4  # per candidate level and its evidence
    assert counts["music analysis: phrases"] >= 3  # novelty blocks, beat spans
    assert counts["conducting"] >= 4  # between the conductor's steps


def test_a_check_that_raises_stops_the_analysis_at_any_point(points_by_stage):
    counts, _ = points_by_stage
    total = sum(v for k, v in counts.items() if k != "conducting")
    for stop_at in (1, total // 2, total):
        seen = []

        def check(stop_at=stop_at, seen=seen):
            seen.append(1)
            if len(seen) == stop_at:
                raise Stop

        with pytest.raises(Stop), cancellable(check):
            analyze(EXAMPLE)
        assert len(seen) == stop_at


def test_analyze_check_argument_is_used_and_none_keeps_the_outer_check(points_by_stage):
    calls = []
    analyze(EXAMPLE, check=lambda: calls.append(1))
    assert len(calls) >= 8
    outer = []
    with cancellable(lambda: outer.append(1)):
        analyze(EXAMPLE, check=None)
    assert len(outer) == len(calls)
