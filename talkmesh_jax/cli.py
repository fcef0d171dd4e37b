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
from talkmesh_jax.cli_data import add_data_commands
from talkmesh_jax.cli_train import (
    add_bench_export,
    add_bench_meshtalk,
    add_bench_train,
    add_model_commands,
)
from talkmesh_jax.cli_whisper import add_bench_whisper_context, add_whisper_commands


def _report(args: argparse.Namespace, results: dict, format_table) -> int:
    """Prints a benchmark's table and writes its JSON when --json was given."""
    from talkmesh_jax.fileio import write_json

    print(format_table(results))
    if args.json:
        print(f"results written to {write_json(args.json, results)}")
    return 0


def _bench_loader(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.loader import LoaderBenchConfig, format_table, run_loader_bench

    config = LoaderBenchConfig(
        minutes=args.minutes,
        num_vertices=args.landmarks,
        batch_size=args.batch_size,
        window_frames=args.window_frames,
        stride_frames=args.stride_frames,
        threads=args.threads,
        round_seconds=args.round_seconds,
        data=args.data,
    )
    return _report(args, run_loader_bench(config, progress=not args.no_progress), format_table)


def _bench_encoder(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.encoder import EncoderBenchConfig, format_table, run_encoder_bench

    config = EncoderBenchConfig(
        size=args.size,
        batch_size=args.batch_size,
        window_seconds=args.window_seconds,
        dtype=args.dtype,
        torch_device=args.torch_device,
        tf32=args.tf32 == "on",
        round_seconds=args.round_seconds,
    )
    return _report(args, run_encoder_bench(config, progress=not args.no_progress), format_table)


def _add_bench(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="throughput benchmarks (table + JSON)")
    kinds = bench.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    loader = kinds.add_parser(
        "loader",
        help="C++ windowed batcher vs memcpy, numpy, Grain and the original project's loader",
        description="Generates a packed dataset of random audio and landmarks, then measures "
        "windows/s and GB/s of each way of making training batches.",
    )
    loader.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    loader.add_argument(
        "--data", metavar="PACKED", help="measure on this packed dataset instead of generated data"
    )
    loader.add_argument("--minutes", type=float, default=30.0, help="minutes of generated audio")
    loader.add_argument("--landmarks", type=int, default=478, help="landmarks per generated frame")
    loader.add_argument("--batch-size", type=int, default=8)
    loader.add_argument("--window-frames", type=int, default=125, help="frames per window")
    loader.add_argument("--stride-frames", type=int, default=25, help="frames between windows")
    loader.add_argument("--threads", type=int, default=0, help="threads for 'all cores' (0: all)")
    loader.add_argument(
        "--round-seconds",
        type=float,
        default=0.25,
        help="length of each of the 5 timed rounds per method",
    )
    loader.add_argument("--no-progress", action="store_true", help="no progress bar")
    loader.set_defaults(func=_bench_loader)

    encoder = kinds.add_parser(
        "encoder",
        help="Whisper encoder: ours (JAX, 30 s padded and 5 s windows) vs PyTorch transformers",
        description="Random weights of a real Whisper size, the same in both frameworks; audio "
        "seconds encoded per second. Needs torch (the test extra).",
    )
    encoder.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    encoder.add_argument("--size", default="tiny", help="tiny, base, small, medium or large-v3")
    encoder.add_argument("--batch-size", type=int, default=8)
    encoder.add_argument("--window-seconds", type=float, default=5.0)
    encoder.add_argument(
        "--dtype",
        choices=["float32", "bfloat16"],
        default="float32",
        help="compute precision of both (torch's weights and inputs too)",
    )
    encoder.add_argument("--torch-device", default="cpu", help="device of the torch reference")
    encoder.add_argument(
        "--tf32",
        choices=["on", "off"],
        default="on",
        help="float32 matmuls as TF32 on GPUs, on both sides (JAX's GPU default is on)",
    )
    encoder.add_argument(
        "--round-seconds",
        type=float,
        default=1.0,
        help="length of each of the 3 timed rounds per method",
    )
    encoder.add_argument("--no-progress", action="store_true", help="no progress bar")
    encoder.set_defaults(func=_bench_encoder)
    add_bench_train(kinds)
    add_bench_meshtalk(kinds)
    add_bench_export(kinds)
    add_bench_whisper_context(kinds)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talkmesh",
        description="Speech to lip-synchronised 3D face landmarks (JAX/Flax).",
    )
    parser.add_argument("--version", action="version", version=f"talkmesh-jax {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_data_commands(subparsers)
    add_model_commands(subparsers)
    add_whisper_commands(subparsers)
    _add_bench(subparsers)
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
