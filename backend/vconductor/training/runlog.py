"""Run logs: TensorBoard event files (tensorboard is a dependency) plus a CSV of every scalar, rank 0 only."""

import csv
from pathlib import Path


class RunLog:
    """`scalars(step, {"loss/total": 0.7, ...})` -> runs/<run>/tensorboard and metrics.csv (step, tag, value)."""

    def __init__(self, run_dir: Path, enabled: bool, tensorboard: bool = True):
        self.enabled = enabled
        self.writer = None
        self._csv = None
        if not enabled:
            return
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("note: tensorboard is not installed; scalars go to metrics.csv only")
            else:
                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
        new = not (run_dir / "metrics.csv").exists()
        self._csv = open(run_dir / "metrics.csv", "a", newline="")  # noqa: SIM115 - closed in close()
        self._rows = csv.writer(self._csv)
        if new:
            self._rows.writerow(["step", "tag", "value"])

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        for tag, value in values.items():
            self._rows.writerow([step, tag, f"{float(value):.6g}"])
            if self.writer is not None:
                self.writer.add_scalar(tag, float(value), step)
        self._csv.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self._csv is not None:
            self._csv.close()
