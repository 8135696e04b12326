"""The .png contact sheet: a grid of evenly spaced frames under a title line."""

from pathlib import Path

import numpy as np

from ..motion_io import Motion
from ..progress import Progress
from .frames import BG_TOP, HUD_DIM, HUD_TEXT, HUD_TRACK, FrameRenderer, format_time, load_font

SHEET_COLS, SHEET_ROWS = 4, 3


def write_contact_sheet(
    motion: Motion, keypoints: np.ndarray, tmp: Path, size: int, trail_frames: int, report: Progress
) -> None:
    """A grid of evenly spaced frames, each labelled with its time, under a title line."""
    from PIL import Image, ImageDraw

    panel = size // 2
    renderer = FrameRenderer(motion, keypoints, panel, trail_frames, hud=False)
    title_h = max(24, panel // 5)
    sheet = Image.new("RGB", (SHEET_COLS * panel, title_h + SHEET_ROWS * panel), BG_TOP)
    draw = ImageDraw.Draw(sheet)

    source = Path(motion.source).name if motion.source else "untitled"
    details = f"{motion.model}  ·  seed {motion.seed}  ·  {format_time(motion.duration_s)}"
    title_font, detail_font = load_font(title_h * 0.42, bold=True), load_font(title_h * 0.32)
    draw.text((title_h * 0.4, title_h * 0.5), source, font=title_font, fill=HUD_TEXT, anchor="lm")
    right = sheet.width - title_h * 0.4
    draw.text((right, title_h * 0.5), details, font=detail_font, fill=HUD_DIM, anchor="rm")

    label_font = load_font(panel * 0.065, bold=True)
    count = SHEET_COLS * SHEET_ROWS
    frames = np.linspace(0, motion.num_frames - 1, count).round().astype(int)
    for k, i in enumerate(frames):
        report(0.95 * k / count, f"contact sheet: panel {k + 1}/{count}")
        x, y = (k % SHEET_COLS) * panel, title_h + (k // SHEET_COLS) * panel
        sheet.paste(renderer.frame(int(i)), (x, y))
        draw.rectangle((x, y, x + panel - 1, y + panel - 1), outline=HUD_TRACK)
        label = format_time(i / motion.fps)
        draw.text((x + panel * 0.05, y + panel * 0.04), label, font=label_font, fill=HUD_TEXT)
    sheet.save(tmp, format="PNG", optimize=False)
