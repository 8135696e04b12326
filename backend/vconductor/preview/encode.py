"""Writing the rendered frames: ffmpeg (the binary that ships with imageio-ffmpeg) fed raw RGB on stdin."""

import signal
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import suppress
from pathlib import Path

import numpy as np

from ..audio.child_process import tied_to_this_process
from ..motion_io import Motion
from ..progress import Progress
from .frames import MIN_SIZE, FrameRenderer

GIF_FPS = 15
GIF_SCALE = 0.5  # GIFs are big: half the requested size
# veryfast: the encoder keeps pace with the Python renderer on two cores; flat colours compress well anyway.
X264_OPTIONS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
# ffmpeg's exit status when the kernel stops it at the file-size limit (`ulimit -f`); it logs nothing then
KILLED_AT_SIZE_LIMIT = -signal.SIGXFSZ if hasattr(signal, "SIGXFSZ") else None


def _ffmpeg_exe() -> str:
    from ..audio import ffmpeg_executable

    exe = ffmpeg_executable()
    if exe is None:
        raise RuntimeError("no ffmpeg available to write video (install imageio-ffmpeg)")
    return exe


def check_audio(audio: Path) -> None:
    """Fail early, with a clear message, on audio that ffmpeg cannot decode."""
    if not audio.is_file():
        raise FileNotFoundError(f"{audio}: audio file not found")
    # Decoding the first second finds files that are not audio at all, or have no audio stream.
    probe = ["-i", str(audio), "-map", "0:a:0", "-t", "1", "-f", "null", "-"]
    cmd = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *probe]
    result = subprocess.run(**tied_to_this_process(cmd), capture_output=True, text=True, errors="replace")
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        reason = lines[-1] if lines else f"ffmpeg exit {result.returncode}"
        raise ValueError(f"{audio}: cannot decode audio ({reason})")


def _run_ffmpeg(args: list[str], frames: Iterable[bytes]) -> None:
    """Run ffmpeg with `frames` fed to its stdin; raise RuntimeError with its log if it fails."""
    cmd = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a chatty ffmpeg can never block on it
        # a child that dies with us: a killed render leaves no ffmpeg writing a half video
        run = tied_to_this_process(cmd)
        proc = subprocess.Popen(**run, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        pipe_broke = False
        try:
            try:
                for frame in frames:
                    proc.stdin.write(frame)
                proc.stdin.close()
            except BrokenPipeError:
                pipe_broke = True  # ffmpeg exited early; its status and log say why
            returncode = proc.wait()
        finally:
            if proc.poll() is None:  # interrupted or a rendering error: stop ffmpeg, then re-raise
                proc.kill()
                proc.wait()
            with suppress(OSError):
                proc.stdin.close()
        if returncode != 0 or pipe_broke:
            log.seek(0)
            message = log.read().decode(errors="replace").strip()[-2000:] or "no message"
            if returncode == KILLED_AT_SIZE_LIMIT:
                message = "File too large (the file-size limit, ulimit -f)"
            raise RuntimeError(f"ffmpeg failed (exit {returncode}): {message}")


def _raw_video_input(size: int, fps: float) -> list[str]:
    """ffmpeg input options for square RGB frames on stdin."""
    geometry = ["-s", f"{size}x{size}", "-framerate", f"{fps:g}"]
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", *geometry, "-i", "-"]


def _frame_bytes(renderer: FrameRenderer, indices: range, report: Progress, label: str) -> Iterator[bytes]:
    every = max(1, len(indices) // 100)
    for k, i in enumerate(indices):
        if k % every == 0:
            report(0.98 * k / len(indices), f"{label}: frame {k}/{len(indices)}")
        yield renderer.frame(i).tobytes()


def write_mp4(
    motion: Motion,
    keypoints: np.ndarray,
    tmp: Path,
    audio: Path | None,
    size: int,
    trail_frames: int,
    report: Progress,
) -> None:
    renderer = FrameRenderer(motion, keypoints, size, trail_frames)
    duration = f"{motion.num_frames / motion.fps:.6f}"
    args = _raw_video_input(size, motion.fps)
    if audio is not None:
        args += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", "192k"]
        # Audio time 0 is frame 0; cut or pad with silence to exactly the video length.
        args += ["-af", f"asetpts=PTS-STARTPTS,atrim=duration={duration},apad=whole_dur={duration}"]
    args += X264_OPTIONS + ["-t", duration, "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    _run_ffmpeg(args, _frame_bytes(renderer, range(motion.num_frames), report, "video"))


def write_gif(
    motion: Motion, keypoints: np.ndarray, tmp: Path, size: int, trail_frames: int, report: Progress
) -> None:
    gif_size = max(MIN_SIZE, int(size * GIF_SCALE)) // 2 * 2
    step = max(1, round(motion.fps / GIF_FPS))
    renderer = FrameRenderer(motion, keypoints, gif_size, trail_frames)
    indices = range(0, motion.num_frames, step)
    with tempfile.TemporaryDirectory() as scratch:
        # A palette fixed up front lets ffmpeg stream; one computed from the whole video would make it hold
        # every frame until the end.
        palette = Path(scratch) / "palette.png"
        _gif_palette(renderer, indices).save(palette)
        args = _raw_video_input(gif_size, motion.fps / step) + ["-i", str(palette)]
        args += ["-lavfi", "[0:v][1:v]paletteuse=dither=bayer:bayer_scale=4"]
        args += ["-loop", "0", "-f", "gif", str(tmp)]
        _run_ffmpeg(args, _frame_bytes(renderer, indices, report, "gif"))


def _gif_palette(renderer: FrameRenderer, indices: range, samples: int = 16):
    """A 16x16 image of the 256 colours that best cover a few evenly spaced frames (ffmpeg's paletteuse input)."""
    from PIL import Image

    picks = np.unique(np.linspace(0, len(indices) - 1, samples).round().astype(int))
    mosaic = np.concatenate([np.asarray(renderer.frame(indices[k])) for k in picks], axis=0)
    quantized = Image.fromarray(mosaic).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    colours = np.zeros((256, 3), np.uint8)
    used = np.array(quantized.getpalette()[: 3 * 256], np.uint8).reshape(-1, 3)
    colours[: len(used)] = used
    return Image.fromarray(colours.reshape(16, 16, 3))
