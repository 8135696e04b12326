"""Spectrogram frames kept in bounded memory: in RAM while short, in a scratch file once long.

A 3 h piece has 930k frames of 128 bands (476 MB as float32): held in RAM they would make memory grow with the
piece's length, so past `spill_after` frames they go to a file in a scratch folder and are read back
window by window. The file belongs to the store: it is deleted by ``close()``, or when the store is collected.
"""

import contextlib
import os
import tempfile
import weakref
from pathlib import Path

import numpy as np

from ..scratch import scratch_folder

BANDS = 128
SPILL_AFTER_FRAMES = 1 << 16  # 12.7 min of frames (32 MB): shorter pieces never touch the disk


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class FrameStore:
    """Rows of 128 values (float32, or `dtype`) appended in blocks, read back by row range or index.

    Rows past `spill_after` go to a file in `spill_dir` (default: this process's scratch folder); `spill_after`
    None keeps everything in memory, 0 writes every row to disk (the service accounts for its queued jobs by
    their files' sizes).
    """

    def __init__(
        self, spill_dir: Path | None = None, spill_after: int | None = SPILL_AFTER_FRAMES, dtype: str = "<f4"
    ):
        self.spill_dir, self.spill_after = spill_dir, spill_after
        self.dtype = np.dtype(dtype)
        self.row_bytes = self.dtype.itemsize * BANDS
        self.num_rows = 0
        self.max_value = -np.inf
        self.path: str | None = None
        self._parts: list[np.ndarray] = []
        self._array: np.ndarray | None = None
        self._file = None
        self._finalizer = None

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if not len(rows):
            return
        self.max_value = max(self.max_value, float(rows.max()))
        self.num_rows += len(rows)
        if self._file is None and self.spill_after is not None and self.num_rows > self.spill_after:
            self._spill()
        if self._file is not None:
            self._file.write(rows.tobytes())
        else:
            self._parts.append(rows)

    def seal(self) -> None:
        """No more rows: the file is flushed (or the memory parts joined) for reading."""
        if self._file is not None:
            self._file.close()
            self._file = None
        elif self.path is None and self._array is None:
            self._array = np.concatenate(self._parts) if self._parts else np.zeros((0, BANDS), self.dtype)
            self._parts = []

    @property
    def nbytes(self) -> int:
        return self.num_rows * self.row_bytes

    @property
    def on_disk(self) -> bool:
        return self.path is not None

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1, (stop - start, 128); the store must be sealed."""
        start, stop = max(0, start), min(self.num_rows, stop)
        if stop <= start:
            return np.zeros((0, BANDS), self.dtype)
        if self._array is not None:
            return self._array[start:stop]
        data = np.fromfile(
            self._sealed_path(), dtype=self.dtype, count=(stop - start) * BANDS, offset=start * self.row_bytes
        )
        if len(data) != (stop - start) * BANDS:
            raise OSError(f"the scratch file {self.path} was cut short (was the temp folder cleaned?)")
        return data.reshape(-1, BANDS)

    def rows_at(self, index: np.ndarray) -> np.ndarray:
        """The rows at `index` (any order, repeats allowed), (len(index), 128): a few reads, not the whole file."""
        index = np.asarray(index, dtype=np.int64)
        if self._array is not None:
            return self._array[index]
        unique, where = np.unique(index, return_inverse=True)
        out = np.empty((len(unique), BANDS), self.dtype)
        with open(self._sealed_path(), "rb", buffering=0) as f:
            for k, row in enumerate(unique.tolist()):
                f.seek(row * self.row_bytes)
                data = f.read(self.row_bytes)
                if len(data) != self.row_bytes:
                    raise OSError(
                        f"the scratch file {self.path} was cut short (was the temp folder cleaned?)"
                    )
                out[k] = np.frombuffer(data, self.dtype)
        return out[where]

    def _sealed_path(self) -> str:
        if self.path is None or self._file is not None:
            raise ValueError("the frame store is closed or not sealed")
        return self.path

    def close(self) -> None:
        """Free the rows: the memory, or the scratch file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._parts, self._array, self.path = [], None, None

    def _spill(self) -> None:
        folder = self.spill_dir if self.spill_dir is not None else scratch_folder()
        fd, self.path = tempfile.mkstemp(suffix=".frames", dir=folder)
        self._file = os.fdopen(fd, "wb")
        self._finalizer = weakref.finalize(self, _unlink, self.path)
        for part in self._parts:
            self._file.write(part.tobytes())
        self._parts = []

    # A store sent to another process (the CLI decodes in a forked worker) takes its file with it: the sender
    # no longer deletes it, the receiver does.
    def __getstate__(self):
        if self._file is not None:
            raise ValueError("a frame store cannot be sent before it is sealed")
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        state = self.__dict__.copy()
        state["_finalizer"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.path is not None:
            self._finalizer = weakref.finalize(self, _unlink, self.path)
