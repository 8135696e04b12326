"""Command-line options generated from the config dataclasses (vconductor.cli_options)."""

import argparse

import pytest

from vconductor.cli_options import add_options, from_args
from vconductor.data.options import BuildOptions, SplitOptions, SynthOptions
from vconductor.training.config import BaselineConfig, GanConfig, SyncConfig


def parser_for(config_class) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_options(parser, config_class)
    return parser


def parse(config_class, argv: list[str]):
    return from_args(config_class, parser_for(config_class).parse_args(argv))


@pytest.mark.parametrize(
    ("config_class", "argv", "expected"),
    [
        (SyncConfig, ["D", "--out", "O"], SyncConfig(data_root="D", out_dir="O")),
        (
            GanConfig,
            ["D", "--out", "O", "--sync", "S"],
            GanConfig(data_root="D", out_dir="O", sync_checkpoint="S"),
        ),
        (
            BaselineConfig,
            ["D", "--out", "O", "--kind", "gan"],
            BaselineConfig(data_root="D", out_dir="O", kind="gan"),
        ),
        (SynthOptions, [], SynthOptions()),
        (BuildOptions, [], BuildOptions()),
        (SplitOptions, [], SplitOptions()),
    ],
)
def test_no_options_give_the_dataclass_defaults(config_class, argv, expected):
    assert parse(config_class, argv) == expected


def test_types_tuples_choices_and_switches():
    argv = ["D", "--out", "O", "--max-steps", "5", "--super-hard-shift", "0.25", "1", "--hard-gap", "2"]
    cfg = parse(SyncConfig, [*argv, "--mode", "easy", "--official-super-hard", "--no-tensorboard", "-q"])
    assert cfg.max_steps == 5 and cfg.hard_gap_s == 2.0 and cfg.super_hard_shift_s == (0.25, 1.0)
    assert cfg.mode == "easy" and cfg.official_super_hard and not cfg.tensorboard and not cfg.progress
    with pytest.raises(SystemExit):
        parse(SyncConfig, ["D", "--out", "O", "--mode", "medium"])
    with pytest.raises(SystemExit):  # --sync is required
        parse(GanConfig, ["D", "--out", "O"])
    assert parse(BuildOptions, ["--format", "openpose", "--max-gap", "2"]).max_gap_s == 2.0


def test_overridden_defaults_keep_the_parents_help():
    helps = {action.dest: action.help for action in parser_for(GanConfig)._actions}
    assert helps["batch_size"] == "samples per optimiser step and process"
    assert parse(GanConfig, ["D", "--out", "O", "--sync", "S"]).batch_size == 20


def test_exclusive_groups_and_fields_kept_off_the_command_line():
    with pytest.raises(SystemExit):
        parse(SplitOptions, ["--split", "a", "--val-fraction", "0.2"])
    assert "music" not in {action.dest for action in parser_for(SynthOptions)._actions}
    assert "extra" not in {action.dest for action in parser_for(BaselineConfig)._actions}
