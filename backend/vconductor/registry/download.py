"""Downloading one checkpoint with pooch: redirects, a progress bar, an md5 check and a bound on the size.

pooch and requests are imported on the first download only: the CLI imports the registry on every start.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

DOWNLOAD_TIMEOUT_S = 30
CHUNK_BYTES = 1 << 16
USER_AGENT = "vconductor-model-registry"
DOWNLOADED_NAME = "download.pt"


class DownloadError(Exception):
    """The file could not be fetched (no connection, an HTTP error, a timeout); the message says why."""


class DownloadTooLarge(Exception):
    """The server sent more bytes than any checkpoint has."""


class ChecksumMismatch(Exception):
    """The downloaded file is not the one expected: its md5 differs."""


def download_checkpoint(url: str, folder: Path, *, md5: str | None, max_bytes: int, progress: bool) -> Path:
    """Download `url` into `folder` and return the file; when `md5` is given, a file with another is refused.

    Nothing is left in `folder` after a failure (pooch writes to a temporary file first)."""
    import pooch
    import requests

    downloader = _SizeLimitedDownloader(max_bytes, progress)
    try:
        with _quiet(pooch.get_logger()):
            fetched = pooch.retrieve(
                url,
                known_hash=f"md5:{md5}" if md5 else None,
                fname=DOWNLOADED_NAME,
                path=folder,
                downloader=downloader,
            )
    except requests.HTTPError as exc:
        response = exc.response
        raise DownloadError(
            f"could not download {url}: HTTP {response.status_code} {response.reason}"
        ) from None
    except ValueError as exc:
        if md5 and not isinstance(exc, requests.RequestException):  # pooch's known_hash refusal
            raise ChecksumMismatch(f"the md5 of {url} differs from the expected {md5}") from None
        raise DownloadError(f"could not download {url}: {exc}") from None
    except OSError as exc:  # requests' connection errors and timeouts are OSErrors too
        raise DownloadError(f"could not download {url}: {_first_cause(exc)}") from None
    return Path(fetched)


class _SizeLimitedDownloader:
    """pooch's HTTP downloader, writing through a file that refuses to grow past `max_bytes`."""

    def __init__(self, max_bytes: int, progress: bool):
        import pooch

        self.max_bytes = max_bytes
        self.http = pooch.HTTPDownloader(
            progressbar=progress,
            chunk_size=CHUNK_BYTES,
            timeout=DOWNLOAD_TIMEOUT_S,
            headers={"User-Agent": USER_AGENT},
        )

    def __call__(self, url: str, output_file: str, pooch_instance) -> None:
        with open(output_file, "wb") as out:
            self.http(url, _SizeLimitedFile(out, self.max_bytes, url), pooch_instance)


class _SizeLimitedFile:
    """The writer pooch's downloader streams into; a huge download is not a checkpoint, so it stops early."""

    def __init__(self, file, max_bytes: int, url: str):
        self.file = file
        self.max_bytes = max_bytes
        self.url = url
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise DownloadTooLarge(
                f"{self.url} is larger than {self.max_bytes} bytes, too large for a checkpoint"
            )
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


@contextmanager
def _quiet(logger: logging.Logger):
    """pooch logs every download on stderr with advice for library authors; our users see the bar only."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _first_cause(exc: BaseException) -> str:
    """The reason at the root of requests' wrapped errors: '[Errno 111] Connection refused', 'timed out'."""
    root = exc
    while (inner := root.__cause__ or root.__context__) is not None:
        root = inner
    return str(root) or str(exc)
