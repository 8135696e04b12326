"""Beat, downbeat and metre labels from a score's bars: defined in `vconductor.scores.labels` (the runtime reads
a user's score with them too); imported here for the training data's modules."""

from ..scores.labels import (  # noqa: F401
    EPS,
    Bar,
    Labels,
    bar_labels,
    bar_phases,
    beat_length_q,
    count_length_q,
    full_bar_q,
    is_compound,
    window_bars,
)
