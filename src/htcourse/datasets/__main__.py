"""Command line for the synthetic datasets.

    python -m htcourse.datasets generate [--seed N] [--out DIR] [--only NAME ...]
    python -m htcourse.datasets list

``generate`` writes every dataset (or only the named ones) with their
datasheets and ``datapackage.json``, and copies the two hand-made tables and
their datasheets from the course's datasets folder, so that ``--out DIR``
makes a complete datasets folder. The default seed reproduces the
committed files byte for byte. On bad input it prints one line to stderr,
exits with status 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from htcourse.paths import datasets_dir

from . import DATASETS, DEFAULT_SEED, UnknownDatasetError, handwritten_tables, published_tables, write_datasets
from .writing import OutputError

PROG = "python -m htcourse.datasets"
USAGE_ERROR = 2


class _OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose errors are a single line on stderr, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _fail(message)


def _fail(message: str) -> None:
    first_line = " ".join(str(message).split())
    sys.stderr.write(f"{PROG}: error: {first_line}\n")
    sys.exit(USAGE_ERROR)


def _seed(text: str) -> int:
    """A seed: a non-negative integer written in decimal digits."""
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: expected a non-negative integer")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(prog=PROG, description="Generate the course's synthetic datasets.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineErrorParser)
    generate = commands.add_parser("generate", help="write the datasets, datasheets and datapackage.json")
    generate.add_argument(
        "--seed",
        type=_seed,
        default=DEFAULT_SEED,
        help=f"random seed (default {DEFAULT_SEED}, which reproduces the committed files)",
    )
    generate.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: the course's datasets folder)",
    )
    generate.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        default=None,
        help=f"generate only these datasets ({', '.join(DATASETS)})",
    )
    commands.add_parser("list", help="list the datasets and their files")
    return parser


def _list() -> None:
    for name, module in DATASETS.items():
        files = ", ".join((*module.CSV_FILES, module.DATASHEET_FILE))
        print(f"{name}: {module.SUMMARY}. Files: {files}")
    print(f"Written by hand, not generated (copied as they are): {', '.join(handwritten_tables.FILES)}")
    print(f"Published data, not generated (copied as they are, checksums checked): {', '.join(published_tables.FILES)}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        _list()
        return 0
    out_dir = args.out if args.out is not None else datasets_dir()
    try:
        written = write_datasets(out_dir, seed=args.seed, names=args.only)
    except (UnknownDatasetError, OutputError) as error:
        _fail(str(error))
    print(f"Wrote {len(written)} files to {out_dir} (seed {args.seed}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
