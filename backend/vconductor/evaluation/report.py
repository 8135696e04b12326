"""A Table-2-style report of an :class:`~vconductor.evaluation.runner.Evaluation`: markdown and CSV.

The CSV holds unscaled values, one row per model, with "nan" where a metric was not computed (SE without an
M2S-Net, W-dis without a critic); the markdown table scales MSE and W-dis by 10^3 as the paper's Table 2 does.
"""

from __future__ import annotations

import csv
import math
from contextlib import ExitStack
from pathlib import Path

from ..contract import atomic_output, missing_folders, remove_empty_folders
from .runner import COLUMNS, EXTRA_COLUMNS, Evaluation

CSV_FIELDS = ("model", "clips", *(key for key, _, _ in COLUMNS), *EXTRA_COLUMNS, "generation_s")


def _describe(model) -> str:
    from ..metrics.networks import describe_model

    return describe_model(model)


def write_csv(evaluation: Evaluation, path: Path) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for result in evaluation.results:
            row = {
                "model": result.name,
                "clips": evaluation.clips,
                "generation_s": f"{result.generation_s:.3f}",
            }
            row.update({k: repr(float(result.metrics[k])) for k in CSV_FIELDS if k in result.metrics})
            writer.writerow(row)
    return path


def _cell(value: float, scale: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    scaled = value * scale
    return f"{scaled:.4f}" if abs(scaled) < 10 else f"{scaled:.2f}"


def markdown(evaluation: Evaluation, images: list[Path] = ()) -> str:
    cfg = evaluation.config
    clip = f"{evaluation.clip_frames / 30:g} s"
    lines = [
        "# Evaluation",
        "",
        f"- dataset: `{evaluation.dataset}`, split `{evaluation.split}`: {evaluation.samples} samples, "
        f"{evaluation.clips} clips of {clip}",
        f"- metric definitions: {cfg.definition}; seed {cfg.seed} (clip k uses seed + k); device {cfg.device}",
        f"- SE: motion encoder of {_describe(cfg.sync_model) if cfg.sync_model is not None else 'none (not computed)'}",
        f"- W-dis: {'critic ' + _describe(cfg.discriminator) if cfg.discriminator is not None else 'no critic (n/a)'}",
        f"- BAS: FACT direction (mean over motion beats, sigma 0.1 s); Beat F: tolerance {cfg.beat_tolerance_s:g} s; "
        f"music beats: {evaluation.beat_source}",
        "",
        "| Model | " + " | ".join(header for _, header, _ in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for result in evaluation.results:
        cells = [_cell(result.metrics[key], scale) for key, _, scale in COLUMNS]
        lines.append(f"| {result.name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Lower is better for MSE, SE, RDE and SCE; SDP should be near 100%; BAS and Beat F higher; Diversity "
        "should be near the ground truth's. Unscaled values and more columns (BAS averaged over music beats, beat "
        "precision/recall, tempo error) are in report.csv. Definitions: docs/metrics.md.",
    ]
    if images:
        lines.append("")
        lines += [f"![{p.stem}]({p.name})" for p in images]
    return "\n".join(lines) + "\n"


def write_report(evaluation: Evaluation, out_dir, plots: bool = True) -> dict[str, Path]:
    """report.md, report.csv and (with `plots`) the PNGs in `out_dir`; returns their paths by name.

    All or nothing: every file is written to a temp file beside it and they are moved into place together once
    all are written, so a failure (a full disk, a file-size limit) leaves the folder as it was, or absent when
    this made it. A write error is an OSError naming the report file, never a temp file."""
    out_dir = Path(out_dir)
    made = missing_folders([out_dir / "report.md"])
    paths: dict[str, Path] = {}
    stack = ExitStack()

    def staged(key: str, name: str) -> Path:
        """The temp file that becomes out_dir/name once every file is written."""
        paths[key] = out_dir / name
        return stack.enter_context(atomic_output(paths[key]))

    try:
        with stack:
            write_csv(evaluation, staged("csv", "report.csv"))
            if plots:
                from .plots import write_plots

                write_plots(evaluation, staged)
            images = [p for p in paths.values() if p.suffix == ".png"]
            staged("markdown", "report.md").write_text(markdown(evaluation, images))
    except BaseException as exc:
        remove_empty_folders(made)  # those left empty: something else may have been written there meanwhile
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None and paths:
            raise OSError(exc.errno, exc.strerror, str(list(paths.values())[-1])) from None
        raise
    return paths
