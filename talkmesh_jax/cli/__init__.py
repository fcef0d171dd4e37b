"""The one `talkmesh` command line: `main` parses (cli/main.py) and each module adds its
subcommands (data, demo, train/eval/export/plot, stream, whisper, bench)."""

from talkmesh_jax.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
