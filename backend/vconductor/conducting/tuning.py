"""Every tuning constant of the music analysis and the procedural conductor, in one place.

docs/conducting.md says what each stage does; the comments here say what each number controls.
"""

from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------------------------------------------
# Analysis: silence, loudness and releases (features.py)

SILENCE_DBFS = -60.0  # absolute floor: quieter frames are silent
SILENCE_BELOW_LOUD_DB = 45.0  # frames this far below the piece's loud level are silent
LOUD_LEVEL_PERCENTILE = 95  # the loud level: this percentile of the smoothed level of the sounding frames
LEVEL_SMOOTHING_S = 0.2  # the level that sets the loud level, silence and loudness is averaged over this long
LOUDNESS_RANGE_DB = 50.0  # loudness 0 .. 1 spans this many dB below the loud level
QUIET_LOUDNESS_MAX = 0.05  # loudness of frames below the silence floors is at most this
MIN_QUIET_S = 0.15  # shorter dips below the silence floors are ignored
ONSET_FLICKER_FRAMES = 5  # onsets inside quiet runs are zeroed, except this near the runs' edges
RELEASE_SMOOTHING_S = 0.1  # level smoothing for release detection
RELEASE_WINDOW_S = 1.0  # a release: the level this long ago was ...
RELEASE_DROP_DB = 15.0  # ... this much louder, with no note started in between
NOTE_RISE_FRAMES = 5  # a note starts where the level rose over this many feature frames ...
NOTE_RISE_DB = 3.0  # ... by more than this ...
NOTE_ONSET_FRACTION = 0.3  # ... with an onset above this fraction of the loud onset strength
RECENT_NOTE_S = 0.3  # a note this recent keeps the sound out of a release
MIN_REST_S = 0.3  # shorter silences are ignored
ONSET_SCALE_PERCENTILE = 99  # onset strength 1 is this percentile of the sounding frames

# Articulation: the mean shortfall of the level below its recent peak, between these two values (dB).
ARTICULATION_PEAK_S = 0.3  # the recent peak: the maximum over this long
ARTICULATION_WINDOW_S = 1.0  # the shortfall is averaged (and the result smoothed) over this long
LEGATO_DROP_DB = 1.5  # articulation 0
STACCATO_DROP_DB = 7.5  # articulation 1

# What is not music to beat (analysis.py)
MIN_SOUNDING_S = 1.5  # less sound than this has no beats
MIN_ONSET_FLUX = 0.25  # onset strength (mean dB rise per mel band) that clear note onsets exceed
NOISE_FLATNESS_DB = -6.0  # mel spectra flatter than this (median over frames) are noise, not music

# ---------------------------------------------------------------------------------------------------------------
# Analysis: tempo (tempo.py)

TEMPOGRAM_WINDOW_S = 8.0
TEMPOGRAM_HOP_FRAMES = 16  # feature frames between tempogram windows (0.19 s)
TEMPOGRAM_FFT_SIZE = 4096
TEMPO_GRID_BPM = 30.0 * 2.0 ** (np.arange(0.0, np.log2(720.0 / 30.0) + 1e-9, 1.0 / 36.0))  # 1/36 octave
TATUM_RANGE_BPM = (40.0, 420.0)  # the fastest clear pulse is looked for in this range
TATUM_RATIOS = (2, 3, 4, 6, 8)  # a faster peak at these multiples of the strongest one may be the tatum ...
TATUM_MIN_STRENGTH = 0.3  # ... when it is at least this strong relative to the strongest
FINE_TEMPO_STEP_OCT = 1.0 / 96.0  # grid of the tempo paths
TEMPO_PATH_STEP_BINS = 2.5  # typical tempo change of a path between windows, in fine-grid bins
TEMPO_JUMP_PROBABILITY = 2e-3  # per window, of an abrupt tempo change anywhere
TRACKER_TIGHTNESS = 400.0  # beat tracker: how strictly beats follow the tempo curve
TRACKER_MIN_FRAMES_PER_BEAT = (
    64.0  # the onset envelope is upsampled (at most 8x) until a beat spans this many
)

# Tempo paths: (ratio, weight) of the pulse levels whose salience counts for a tempo.
TATUM_LEVELS = ((1.0, 1.0), (1 / 2, 0.5), (1 / 3, 0.5), (1 / 4, 0.5), (1 / 6, 0.5), (1 / 8, 0.5))
FREE_PATH_CENTRE_BPM = 100.0  # the free beat-level path: near this tempo ...
FREE_PATH_SPAN_OCT = 1.3  # ... within this many octaves either side ...
FREE_PATH_PRIOR_OCT = 0.7  # ... with a log-normal prior this wide ...
FREE_LEVELS = ((1.0, 1.0), (2.0, 0.5), (3.0, 0.3), (1 / 2, 0.5), (1 / 3, 0.3), (1 / 4, 0.3))  # ... and levels

# ---------------------------------------------------------------------------------------------------------------
# Analysis: which metrical level is the conducted beat (beat_levels.py)

# Tatums per beat -> the faster levels whose periodicity supports that beat.
BEAT_MULTIPLES = {1: (1,), 2: (1, 2), 3: (1, 3), 4: (1, 2, 4), 6: (1, 3, 6), 8: (1, 2, 4, 8)}
BEAT_RANGE_BPM = (30.0, 220.0)  # conducted beats slower or faster than this are not considered
SAME_CURVE_LOG_TOLERANCE = 0.02  # tempo curves this close (95th percentile of the log ratio) are one
PHASE_TEMPO_JUMP = 1.08  # tempo ratios beyond this between beats separate passages for the phase choice
MIN_PHASE_PASSAGE_BEATS = 8  # shorter passages keep the tracker's phase
W_ON_BEAT = 1.0  # score weight: on-beat onset strength against the subdivisions
ON_BEAT_CAP = 1.0  # beyond e^1 the on-beat contrast says nothing more (clean synthetic tracks reach e^4)
W_SUBDIVISION = (
    1.0  # ... subdivision consistent with the level (halves for simple beats, thirds for compound)
)
W_TEMPO_PRIOR = 1.0  # ... log-normal tempo prior
PRIOR_BPM = 120.0  # simple beats (quarter notes)
PRIOR_BPM_COMPOUND = 70.0  # compound beats (dotted quarters)
PRIOR_WIDTH_OCT = 0.6
COMPOUND_COST = 1.0  # compound beats need the eighth-note accents to say 6/8 rather than 3/4 ...
TERNARY_MARGIN = 0.25  # ... by this much

# ---------------------------------------------------------------------------------------------------------------
# Analysis: metre (metre.py)

TRIPLE_MARGIN = 0.2  # bar-template evidence needed for 3 beats per bar over 2 or 4
DUPLE_MARGIN = 0.2  # ... and for 2 over 4 (4/4 is the fallback)
MIN_TRIPLE_FIT = -0.1  # 3 beats per bar also needs at least this fit
COMPOUND_IN_6_BELOW = 60.0  # dotted-quarter beats slower than this are conducted in 6

# ---------------------------------------------------------------------------------------------------------------
# Analysis: beat cleanup (beats.py) and phrases (phrases.py)

LATENCY_S = 0.045  # onset detectors peak during the attack: report beats this much earlier
SNAP_WEAK_FRACTION = 0.5  # a beat with less onset than this fraction of the median is between notes ...
SNAP_REACH_BEATS = 0.35  # ... and moves to the strongest onset within this many beats ...
SNAP_SPACING_BEATS = 0.5  # ... keeping this many beats from its neighbours
LONG_REST_S = 1.2  # no beats in silences at least this long ...
LONG_REST_BEATS = 2.0  # ... and this many beats long
CLEAR_ONSET_FRACTION = 0.6  # beats start and stop at the first and last onset this strong (of the median)
BEAT_GAP_RATIO = 2.5  # a beat interval this many beat periods long ends a bar in 6/8 (no eighths across it)
TEMPO_OUTLIER_RATIO = 1.5  # beat intervals this far from the tracked tempo report the tracked tempo
TEMPO_MEDIAN_BEATS = 5  # the reported tempo is median-smoothed over this many beats
PHRASE_HALF_BEATS = 4  # the novelty kernel compares this many beats before and after
PHRASE_MIN_SPACING_S = 4.0  # phrase starts at least this far apart ...
PHRASE_AFTER_FIRST_BEAT_S = 1.0  # ... and this long after the first beat
PHRASE_NOVELTY_DELTA = 0.1  # peak-picking threshold on the novelty (0 .. 1)

# ---------------------------------------------------------------------------------------------------------------
# Conductor: the body, in the official coordinates (y down; hips and shoulders centred on x = 0.5, the
# conductor's left at larger x)

HIP_CENTRE = np.array([0.5, 0.75])
HIP_HALF_WIDTH = 0.065
SHOULDER_CENTRE = np.array([0.5, 0.45])  # 0.30 above the hips
SHOULDER_HALF_WIDTH = 0.10
NOSE_ABOVE_SHOULDERS = 0.095
FACE = {  # offsets from the nose; the face moves rigidly with it
    "left_eye": (0.021, -0.022),
    "right_eye": (-0.021, -0.022),
    "left_ear": (0.047, -0.016),
    "right_ear": (-0.047, -0.016),
}
FACE_DEPTH = {"nose": 0.05, "left_eye": 0.035, "right_eye": 0.035, "left_ear": 0.0, "right_ear": 0.0}  # z
LEAN_Z = 0.03  # the chest comes this far forward in the loudest, fullest passages ...
LEAN_FROM_DYNAMICS = 0.7  # ... leaning from this dynamics level up
BREATH_IN = 0.008  # the shoulders rise this much with the breath before an entry ...
BREATH_IN_S = 0.4  # ... taken over the preparation and this long before it
RIGHT_REST = np.array([0.38, 0.68])  # relaxed, hands low and a little forward; the left rest is its mirror
LEFT_IDLE = np.array([0.64, 0.63])  # the unoccupied left hand, low in front of the waist (quiet music)
LEFT_READY = np.array([0.63, 0.555])  # ... held ready in front of the lower chest when the music is full
LEFT_CUE = np.array([0.685, 0.565])  # raised and pointing out to the conductor's left

# Conductor: dynamics (motion_inputs.py): loudness is 0..1 over 50 dB; gestures follow its top part
DYNAMICS_FLOOR = 0.45  # loudness (about 27 dB below the loud level) at which gestures are smallest (pp)

# Conductor: the right hand's path (beat_plan.py, right_hand.py, arcs.py)
REBOUND_BREATHING = 0.2  # relative beat-to-beat variation of the rebound height
HOLD_S = 0.8  # a still moment (before a preparation, after a release) lasts at least this long
ARC_SAMPLES = 24  # intervals per piece in the table that maps arc length to position
SPEED_FIX_PASSES = 6  # rounds of arcs.respace_for_sampled_speed
HIGHEST_HAND_Y = 0.33  # rebounds stop about half a shoulder width above the shoulders (ff)
HIGHEST_PLANE_Y = 0.44  # the ictus stays below mid-chest however high a phrase lifts the pattern
FAST_BEAT_S = 0.3  # beats closer than this (median; 200 BPM) are conducted in fewer per bar ...
IN_FEWER = {
    4: (2, 2),
    3: (1, 3),
    2: (1, 2),
    6: (2, 3),
}  # ... beats per bar -> (conducted per bar, beats in each)
LOWEST_PLANE_Y = 0.66  # the beat plane never sinks below the waist (the arm would hang straight)
REBOUND_ROOM = 0.8  # a phrase lifts the plane only as far as leaves this much of each beat's rebound room
DOWNBEAT_SIZE = 1.06  # downbeats are this much bigger
STACCATO_REBOUND = 0.12  # staccato rebounds are up to this much higher
MIN_BEAT_INTERVAL_S = 0.1  # closer beats are duplicates
CUTOFF_S = (0.3, 0.5)  # a release gesture takes 0.6 beats, within these bounds

# Conductor: the baton (baton.py), in the body frame (x left, y down, z forward)
BATON_LENGTH = 0.19  # keypoint units: about 36 cm at a 38 cm shoulder width
BATON_HOLD = (0.35, -0.1, 0.9)  # added to the forearm's direction: the baton points forward, in, a little up

# Conductor: the left hand (left_hand.py, left_gestures.py, cues.py)
CLIMAX_PERCENTILE = 95  # a climax: loudness within CLIMAX_BAND of this percentile of the sounding frames ...
CLIMAX_BAND = 0.06
CLIMAX_ABOVE_MEDIAN = 0.12  # ... and this far above the piece's median loudness (an even piece has none)
CLIMAX_MIN_S, CLIMAX_MAX_S = 0.8, 4.0  # shorter loud moments are ignored; longer ones mirror this long
LEFT_ENGAGE_SMOOTH_S = 1.5  # the left hand comes up to ready and sinks to rest this slowly ...
LEFT_ENGAGE_DYNAMICS = (0.2, 0.6)  # ... between these dynamics levels
DIM_PRESS = 0.05  # a diminuendo presses the free left hand down (and out) this far
PHRASE_OPENINGS = ((0.55, -0.85), (0.15, -1.0), (-0.35, -0.9), (0.9, -0.45))  # up-out, up, up-across, out
PHRASE_OPEN_SIZE = 0.13  # how far the hand opens at a phrase start (at full loudness)
PHRASE_OPEN_S = 0.7  # ... taking this long ...
SUB_PHRASE_SIZE = 0.5  # every 2-4 bars inside a phrase the hand renews the gesture, this much smaller ...
SUB_PHRASE_CLEAR_S = 2.0  # ... unless a phrase starts this close
PHRASE_SUSTAIN_S = 2.5  # ... then sinks back with this time constant as the phrase sustains
LEFT_SWELL = 0.4  # the left hand rises this much of the right pattern's phrase lift ...
LEFT_SWELL_LAG_S = 0.4  # ... this much later ...
LEFT_SWELL_OUT = 0.5  # ... and moves out this much per unit of rise
DOWNBEAT_TOUCH = 0.012  # loud downbeats: the left hand dips this much ...
DOWNBEAT_TOUCH_S = 0.08  # ... over about this long
CUE_QUIET_BEFORE = 0.3  # an onset peak is an entry when the second before it was quieter than this
CUE_PROBABILITY = 0.85  # a conductor does not cue every single entry
CUE_RISE_S, CUE_POINT_S, CUE_FALL_S = 0.5, 0.35, 0.9  # raise the hand, point, lower it
CRESCENDO_WINDOW_S = 1.5  # a crescendo: louder than this long ago ...
CRESCENDO_FULL_RISE = 0.25  # ... by this much loudness for the full lift


# Conductor: what a score adds (score_marks.py, score_cues.py; only with MusicAnalysis.score)
WRITTEN_DYNAMICS_RANGE = (0.15, 0.9)  # written levels (pp 0.2 .. ff 0.9) mapped onto the gestures' 0..1
WRITTEN_DYNAMICS_WEIGHT = 0.6  # the gestures follow the written level this much, the heard loudness the rest
WRITTEN_DYNAMICS_SMOOTH_S = 0.3  # a new marking takes about this long to reach the gestures
HAIRPIN_MIN_S = 0.5  # written changes over at least this long are hairpins (shorter ones are subito)
HAIRPIN_FULL_RISE = 0.15  # written level change over CRESCENDO_WINDOW_S for the left hand's full lift
STACCATO_WRITTEN = 0.7  # written staccato moves the articulation this far towards 1 ...
STACCATO_SIZE = 0.2  # ... and makes the pattern this much smaller (a small, crisp ictus)
FERMATA_EDGE_S = 0.08  # beats this close to a fermata's start or release belong to its edges
FERMATA_LAST_BEAT_S = 2.0  # a fermata holds the last beat at most this long before it starts
MIN_PREPARATION_S = 0.25  # a written release closer than this to the next beat leaves no cut-off
MUSIC_START_EDGE_S = 0.08  # a beat this close after the score's first note is the one the music starts on
FERMATA_HOLD_Y = 0.52  # a written fermata is held at least this high: mid-chest (conducting-technique.md)
FINAL_HOLD_REACH_S = 4.0  # a final fermata's cut-off waits for the sound to stop up to this long after the
# written release (a chorale's last chord held 3x: the sound stopped 2 s after it; 1 s cut it off under the chord)
SCORE_CUE_LEAD_BEATS = (0.55, 0.85)  # a cue's raise starts this many beats before the entry (seeded) ...
SCORE_CUE_MIN_RISE_S = 0.2  # ... taking at least this long (fast music: up to one beat)
SCORE_CUE_POINT_BEATS = 0.6  # the hand points this many beats from the entry (within 0.25-0.5 s) ...
SCORE_CUE_FALL_S = 0.9  # ... and is lowered over this long
SCORE_CUE_GROUP_S = 0.2  # entries this close are one cue
SCORE_CUE_SPACING = 0.3  # one hand cues at most once per this fraction of left_cue_spacing_s ...
SCORE_CUE_SPACING_BEATS = 1.9  # ... or about every second beat, if less (rise, point, ready again)
CUE_REACH = 0.22  # the cueing left hand reaches this far from its shoulder towards the section ...
CUE_BELOW_SHOULDER = 0.09  # ... from this far below the shoulder ...
CUE_FORWARD = 0.08  # ... and this far forward of the shoulders' plane
HEAD_TURN = 0.6  # the head turns this fraction of the way to the section (the eyes do the rest) ...
HEAD_TURN_MAX_DEG = 40.0  # ... at most this far ...
HEAD_LEAD_BEATS = 0.4  # ... starting this many beats before the hand
AUDIO_CUE_AZIMUTH_DEG = 40.0  # an audio-guessed cue opens out to the left (LEFT_CUE): the violins' side
AUDIO_CUE_HEAD_LEAD_S = 0.2  # the head turns to an audio-guessed cue this much before the hand
HEAD_SCAN_DEG = 12.0  # between cues the head looks about the orchestra, up to this far to either side ...
HEAD_SCAN_TURN_S = 1.6  # ... turning over this long ...
HEAD_SCAN_MAX_GAP_S = 6.0  # ... somewhere new at each phrase start, at least this often ...
HEAD_SCAN_SWAP = 0.75  # ... to the other side with this probability
HEAD_DRIFT_DEG, HEAD_DRIFT_S = 1.5, 0.8  # a small, quicker wander of the yaw (s.d., smoothing)
HEAD_ROLL_DEG, HEAD_ROLL_S = 2.0, 2.5  # the head's slow tilt (s.d., smoothing)
HEAD_NOD_DEG = 5.0  # the face dips this far into a loud downbeat (other beats less, as their nods)
HEAD_LIFT_DEG = 5.0  # the face lifts this far in ff, sinks as far in pp (dynamics smoothed over ...
HEAD_LIFT_SMOOTH_S = 1.5  # ... this long)
HEAD_BREATH_DEG = 4.0  # the face lifts this far with the breath before an entry
BATON_CUE_SHIFT = 0.07  # a loud entry: the baton's pattern moves this far towards the section's side ...
BATON_CUE_LIFT = 0.02  # ... this much higher ...
BATON_CUE_REACH = 0.05  # ... and this much further forward
BATON_CUE_JITTER = 0.2  # the baton's cue varies this much of the left hand's cue variation


@dataclass(frozen=True)
class ConductorConfig:
    size_soft: float = 0.05  # pattern height (how high the hand rebounds) at pp (dynamics 0), image units
    size_loud: float = (
        0.32  # ... and at the piece's loud level: ff uses the whole arm, rebounds above the shoulder
    )
    size_per_second: float = 0.45  # at most this much pattern height per second of beat period
    width_ratio: float = 0.85  # pattern width per unit of height
    arc_stretch: float = 1.6  # rebound arcs are this much taller than circular ones
    loudness_smoothing_s: float = 0.6  # size follows loudness smoothed over about this long
    beat_plane_y: float = 0.63  # height of the ictus points for the smallest pattern: the lower chest
    phrase_lift: float = 0.36  # the pattern rises about this much from a loud phrase's ends to its middle
    beat_plane_drop: float = 0.5  # the plane sinks by this much per unit of pattern size (big beats go lower)
    pattern_centre_x: float = 0.42  # in front of the right half of the chest
    gap_factor: float = 1.75  # a beat interval this many expected periods long is a fermata or a rest
    rest_min_s: float = 2.0  # beats inside a silence at least this long are not conducted: the hands hold
    left_mirror_loudness: float = 0.6  # the left hand mirrors the right only at climaxes above this loudness
    left_mirroring: float = 1.0  # 0 never mirrors at climaxes .. 1 mirrors them fully
    left_activity: float = 1.0  # scales the left hand's own gestures (0 = it only rests, cues and mirrors)
    left_blend_s: float = 1.0  # how long the left hand takes to join or leave the mirroring
    left_cues: bool = True  # cue entries (phrase starts, strong onsets after quiet) with the left hand
    left_cue_spacing_s: float = 4.0  # at most one cue per this many seconds
    left_lift: float = 0.12  # how far a crescendo lifts the free left hand
    energy: float = 1.0  # scales the rebounds (how high each beat bounces) on top of the size
    articulation_shift: float = 0.0  # -1 legato .. +1 marcato: moves the music's own articulation that way
    wrist_flex: float = 0.45  # how far the wrist tips the baton into each ictus and up on the rebound
    left_handed: bool = (
        False  # a left-handed conductor: the whole performance mirrored, the baton in the left
    )
    baton: bool = True  # a baton in the beating hand (its tip is part of the motion)
    head_motion: float = 1.0  # scales nods, sway and turns of the head
    torso_motion: float = 1.0  # scales shoulder bob and sway
    variation: float = 1.0  # scales the seed-dependent variation of the performance
    # 3D bone lengths (the image shows their projections): a person's proportions, those of the default rig
    # (0.88 and 0.79 of the distance between the shoulder joints); the add-on keys rigs from the 3D directions.
    upper_arm: float = 0.176
    forearm: float = 0.158  # elbow to wrist
    hand_depth: float = 0.15  # how far in front of the shoulders' plane the hand works at the beat plane
    hand_depth_fall: float = 5.0  # ... nearer by this times the squared height below the plane ...
    hand_depth_fall_up: float = 1.5  # ... and by this times the squared height above it
    hand_depth_per_size: float = 0.3  # ... further by this much per unit of pattern size above the softest
    min_arm_extension: float = (
        0.7  # the hand stays at least this fraction of the arm's length from the shoulder
    )
    elbow_out: float = 1.0  # the elbow hangs: its pole is down (1), this much outwards ...
    elbow_back: float = 0.25  # ... and this much backwards
