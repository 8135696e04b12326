"""Run logs: TensorBoard event files (tensorboard is a dependency) plus a CSV of every scalar, rank 0 only.

A resumed run continues the logs of the run it resumes, as they were at its last checkpoint: rows and events of
later steps (logged by the run that was killed, and about to be logged again) are dropped, and so is a last row
cut short by the kill.
"""

import csv
from pathlib import Path

from ..models.checkpoints import written_atomically

METRICS_FILE = "metrics.csv"
HEADER = ["step", "tag", "value"]


class RunLog:
    """`scalars(step, {"loss/total": 0.7, ...})` -> runs/<run>/tensorboard and metrics.csv (step, tag, value)."""

    def __init__(
        self, run_dir: Path, enabled: bool, tensorboard: bool = True, resumed_step: int | None = None
    ):
        self.enabled = enabled
        self.writer = None
        self._csv = None
        self.path = path = run_dir / METRICS_FILE
        if not enabled:
            return
        if resumed_step is not None and path.exists():
            _keep_rows_up_to(path, resumed_step)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("note: tensorboard is not installed; scalars go to metrics.csv only")
            else:
                purge = None if resumed_step is None else resumed_step + 1  # drops the events after it
                self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge)
        new = not path.exists()
        self._csv = open(path, "a", newline="")  # noqa: SIM115 - closed in close()
        self._rows = csv.writer(self._csv)
        if new:
            self._rows.writerow(HEADER)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        try:
            self._rows.writerows([step, tag, f"{float(value):.6g}"] for tag, value in values.items())
            self._csv.flush()
        except OSError as exc:
            if exc.errno is None:
                raise
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None  # a failed write names no file
        if self.writer is not None:
            for tag, value in values.items():
                self.writer.add_scalar(tag, float(value), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self._csv is not None:
            self._csv.close()


def _keep_rows_up_to(path: Path, step: int) -> None:
    """Rewrite metrics.csv (atomically) with only its whole rows of steps up to `step`."""
    with open(path, newline="") as f:
        text = f.read()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # a row cut short by the kill
    rows = [row for row in csv.reader(text.splitlines()) if _step_of(row) is not None]
    with written_atomically(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(row for row in rows if _step_of(row) <= step)


def _step_of(row: list[str]) -> int | None:
    """The step of a whole (step, tag, value) row, None for the header or anything else."""
    if len(row) != 3:
        return None
    try:
        return int(row[0])
    except ValueError:
        return None
