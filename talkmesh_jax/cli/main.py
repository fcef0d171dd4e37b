"""The one `talkmesh` command: parses arguments and calls library functions, nothing more.

Errors meant for users (TalkmeshError, ValueError, OSError) are printed as one line and exit 1;
set TALKMESH_TRACEBACK=1 to see the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from talkmesh_jax import TalkmeshError, __version__
from talkmesh_jax.cli.bench import add_bench_commands
from talkmesh_jax.cli.data import add_data_commands
from talkmesh_jax.cli.demo import add_demo_command
from talkmesh_jax.cli.rig import add_rig_commands
from talkmesh_jax.cli.stream import add_stream_command
from talkmesh_jax.cli.train import add_model_commands
from talkmesh_jax.cli.whisper import add_whisper_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talkmesh",
        description="Speech to lip-synchronised 3D face landmarks (JAX/Flax).",
    )
    parser.add_argument("--version", action="version", version=f"talkmesh-jax {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_data_commands(subparsers)
    add_demo_command(subparsers)
    add_model_commands(subparsers)
    add_stream_command(subparsers)
    add_rig_commands(subparsers)
    add_whisper_commands(subparsers)
    add_bench_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (TalkmeshError, ValueError, OSError) as err:
        if os.environ.get("TALKMESH_TRACEBACK"):
            raise
        print(f"talkmesh: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("talkmesh: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
