"""Style controls (contract_style): the presets, their validation, and what each control does to the motion,
measured with the style statistics (procedural conductor; size and hand for learned motion)."""

import numpy as np
import pytest

from test_procedural import analysis, steady_beats
from vconductor.conducted import Conducted, styled_learned
from vconductor.conducting import conduct, styled_config
from vconductor.contract_style import PRESETS, ConductingStyle, StyleError, conducting_style, preset_key
from vconductor.metrics import joint_speed
from vconductor.metrics.style import style_stats
from vconductor.skeleton import JOINT

FPS = 30
PIECE = analysis(
    "4/4",
    steady_beats(88, 1.5, 37.0),
    seconds=40.0,
    loudness=0.8 + 0.15 * np.sin(np.arange(40 * FPS) / FPS * 2 * np.pi / 13),
    articulation=0.4,
    phrases=[9.0, 18.0, 27.0],
)


def performed(**controls) -> Conducted:
    return conduct(PIECE, len(PIECE.loudness), 0, styled_config(ConductingStyle(**controls)))


def test_presets_are_valid_and_named_loosely():
    assert set(PRESETS) >= {"reference", "chorale", "allegro-energico", "film-score-legato"}
    assert PRESETS["reference"] == ConductingStyle()
    assert conducting_style("Allegro energico") == PRESETS["allegro-energico"]
    assert conducting_style("film_score_legato", size=0.5).size == 0.5
    assert conducting_style(None, energy=None) == ConductingStyle()  # None: the preset's value
    assert preset_key("  Film-Score  Legato ") == "film-score-legato"
    assert conducting_style("chorale").changes() == {
        "size": 0.8,
        "energy": 0.7,
        "articulation": -0.6,
        "left_hand": 1.3,
    }


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: conducting_style("tango"), "unknown style preset 'tango'"),
        (lambda: ConductingStyle(size=3.0), "size must be from 0.25 to 2"),
        (lambda: ConductingStyle(energy=float("nan")), "energy must be a number"),
        (lambda: ConductingStyle(left_handed="yes"), "left_handed must be true or false"),
        (lambda: conducting_style(tempo=2.0), "unknown style control 'tempo'"),
    ],
)
def test_bad_styles_are_refused_with_the_reason(call, message):
    with pytest.raises(StyleError, match=message):
        call()


def test_size_scales_the_gestures():
    small, large = style_stats(performed(size=0.6).keypoints), style_stats(performed(size=1.4).keypoints)
    reference = style_stats(performed().keypoints)
    assert small.amplitude < 0.8 * reference.amplitude and large.amplitude > 1.2 * reference.amplitude
    assert small.height_range < reference.height_range < large.height_range


def test_energy_raises_the_rebounds_and_quickens_the_hand():
    calm, lively = performed(energy=0.5).keypoints, performed(energy=1.6).keypoints
    assert style_stats(lively).height_range > 1.15 * style_stats(calm).height_range
    assert np.median(joint_speed(lively)) > 1.2 * np.median(joint_speed(calm))


def test_marcato_bounces_sharply_off_the_beat_and_legato_eases_through_it():
    def sharpness(keypoints) -> float:  # speed around each ictus against the typical speed
        speed = joint_speed(keypoints)
        frames = np.round(PIECE.beats_s[2:-2] * FPS).astype(int)
        return float(np.mean([speed[f - 2 : f + 3].mean() for f in frames]) / np.median(speed))

    legato, marcato = performed(articulation=-1.0).keypoints, performed(articulation=1.0).keypoints
    assert sharpness(marcato) > 1.2 * sharpness(legato)


def test_the_left_hand_control_sets_how_much_it_does():
    quiet, busy = (
        style_stats(performed(left_hand=0.0).keypoints),
        style_stats(performed(left_hand=2.0).keypoints),
    )
    assert busy.left_amplitude > 1.5 * quiet.left_amplitude
    assert busy.mirrored <= 0.3


def test_handedness_and_baton():
    lefty, righty = performed(left_handed=True), style_stats(performed().keypoints)
    stats = style_stats(lefty.keypoints)
    assert stats.left_amplitude == pytest.approx(righty.amplitude) and stats.amplitude == pytest.approx(
        righty.left_amplitude
    )
    wrist = lefty.keypoints3d[:, JOINT["left_wrist"]]
    assert np.allclose(
        np.linalg.norm(lefty.baton_tip - wrist, axis=1), np.linalg.norm(lefty.baton_tip - wrist, axis=1)[0]
    )
    assert performed(baton=False).baton_tip is None


def test_a_learned_models_motion_takes_the_size_and_the_hand():
    motion = performed().keypoints  # any 2D motion: as a learned model's, without the 3D
    learned = Conducted(motion)
    bigger = styled_learned(learned, ConductingStyle(size=1.5)).keypoints
    assert style_stats(bigger).amplitude == pytest.approx(1.5 * style_stats(motion).amplitude, rel=0.02)
    assert np.array_equal(bigger[:, JOINT["nose"]], motion[:, JOINT["nose"]])  # only the arms change
    mirrored = styled_learned(learned, ConductingStyle(left_handed=True)).keypoints
    assert np.allclose(mirrored[:, JOINT["left_wrist"], 0], 1.0 - motion[:, JOINT["right_wrist"], 0])
    assert styled_learned(learned, ConductingStyle(energy=2.0)) is learned  # only the procedural conductor's
