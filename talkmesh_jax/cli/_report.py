"""What every `talkmesh bench …` subcommand ends with: its table printed, its JSON written."""

from __future__ import annotations

import argparse


def report(args: argparse.Namespace, results: dict, format_table) -> int:
    """Prints a benchmark's table and writes its JSON when --json was given."""
    from talkmesh_jax.fileio import write_json

    print(format_table(results))
    if args.json:
        print(f"results written to {write_json(args.json, results)}")
    return 0
