"""`python -m vconductor.service serve ...`: the same command as `vconductor serve`."""

import argparse
import os
import sys

from .cli import add_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vconductor.service")
    add_cli(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # as `vconductor` does: skip the interpreter teardown (and waiting for decoder threads)
