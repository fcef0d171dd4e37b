"""`talkmesh bench …`: the benchmark subcommands (parsing; the benchmarks: talkmesh_jax.bench)."""

from __future__ import annotations

import argparse

from talkmesh_jax.cli._report import report


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
    return report(args, run_loader_bench(config, progress=not args.no_progress), format_table)


def _bench_encoder(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.encoder import EncoderBenchConfig, format_table, run_encoder_bench

    config = EncoderBenchConfig(
        size=args.size,
        batch_size=args.batch_size,
        window_seconds=args.window_seconds,
        dtype=args.dtype,
        torch_device=args.torch_device,
        tf32=args.tf32 == "on",
        threads=args.threads,
        round_seconds=args.round_seconds,
    )
    return report(args, run_encoder_bench(config, progress=not args.no_progress), format_table)


def _bench_train(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.train import TrainBenchConfig, format_table, run_train_bench
    from talkmesh_jax.config import apply_overrides, load_config

    config = load_config(args.config)
    apply_overrides(config, list(args.overrides))
    bench = TrainBenchConfig(args.inference_seconds, args.round_seconds, anchor=not args.no_anchor)
    return report(args, run_train_bench(config, bench, not args.no_progress), format_table)


def _add_bench_train(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser(
        "train",
        help="training steps/s (teacher forcing, autoregressive, original) and cached inference",
    )
    p.add_argument(
        "--config", required=True, help="tiny|original|large_gpu, a .py file or a config.json"
    )
    p.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    p.add_argument("--inference-seconds", type=float, default=60.0)
    p.add_argument("--round-seconds", type=float, default=1.0)
    p.add_argument(
        "--no-anchor",
        action="store_true",
        help="skip the PyTorch re-enactment of the original's step (about a minute on 2 cores)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    p.set_defaults(func=_bench_train)


def _bench_meshtalk(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.meshtalk import MeshTalkBenchConfig, format_table, run_meshtalk_bench

    bench = MeshTalkBenchConfig(
        args.sample_seconds, args.round_seconds, args.mesh_levels, one_core=not args.all_cores
    )
    results = run_meshtalk_bench(args.config, list(args.overrides), bench, not args.no_progress)
    return report(args, results, format_table)


def _add_bench_meshtalk(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser(
        "meshtalk", help="MeshTalk training steps/s (landmarks, meshes) and sampling frames/s"
    )
    p.add_argument("--config", default="meshtalk_tiny", help="the landmark model's config")
    p.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    p.add_argument("--sample-seconds", type=float, default=10.0)
    p.add_argument("--round-seconds", type=float, default=1.0)
    p.add_argument(
        "--mesh-levels",
        type=int,
        default=2,
        help="subdivisions of the canonical face for the mesh rows (2: 7,257 vertices)",
    )
    p.add_argument("--all-cores", action="store_true", help="skip the one-core sampling run")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="applied to both the landmark and mesh configs",
    )
    p.set_defaults(func=_bench_meshtalk)


def _bench_export(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.export import ExportBenchConfig, format_table, run_export_bench

    minutes = tuple(float(m) for m in args.memory_minutes.split(","))
    bench = ExportBenchConfig(
        args.seconds,
        args.rounds,
        args.stream_seconds,
        minutes,
        args.seam_minutes,
        args.workdir,
        args.whisper_size,
    )
    return report(args, run_export_bench(bench, not args.no_progress), format_table)


def _add_bench_export(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser(
        "export", help="export real-time factors, streaming latency, memory for long audio, seams"
    )
    p.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    p.add_argument(
        "--workdir", metavar="RUN", help="a trained run: streaming accuracy, seams, a CLI call"
    )
    p.add_argument("--seconds", type=float, default=60.0, help="audio for the offline rates")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--stream-seconds", type=float, default=10.0)
    p.add_argument("--memory-minutes", default="1,30", help="export lengths for peak memory")
    p.add_argument("--seam-minutes", type=float, default=10.0)
    p.add_argument(
        "--whisper-size",
        default="small",
        help="the Whisper size of the `original` rows (random weights; the config's: small)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_bench_export)


def _bench_context(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.whisper_context import format_table, run_context_bench

    seconds = tuple(float(s) for s in args.seconds.split(","))
    results = run_context_bench(args.checkpoint, seconds, progress=not args.no_progress)
    return report(args, results, format_table)


def _add_bench_whisper_context(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser(
        "whisper-context",
        help="Whisper features per encoding context vs Whisper's own 30 s context (real weights)",
        description="espeak-ng speech of several lengths; relative RMS and cosine of 5 s "
        "windows (alone, padded to 10 s, padded to 30 s) and of 30 s chunks over the clip "
        "(margins 0, 2.5, 5 s) against each position encoded inside the 30 s centred on it.",
    )
    p.add_argument("--checkpoint", required=True, help="Whisper directory (HF or CTranslate2)")
    p.add_argument(
        "--seconds", default="3,4,5,15,15,45,75", help="clip lengths to synthesise (comma list)"
    )
    p.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_bench_context)


def _bench_retarget(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.retarget import RetargetBenchConfig, format_table, run_retarget_bench

    config = RetargetBenchConfig(
        frames=args.frames,
        scipy_frames=args.scipy_frames,
        noise_cm=args.noise_cm,
        round_seconds=args.round_seconds,
        process_seconds=args.process_seconds,
    )
    return report(args, run_retarget_bench(config, progress=not args.no_progress), format_table)


def _add_bench_retarget(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser(
        "retarget",
        help="rig weights from landmarks: frames/s, round-trip error, vs scipy's lsq_linear",
        description="The built-in rig's known weights → landmarks → solved weights (error on "
        "mouth and upper-face targets), 52 random targets on 478 landmarks against "
        "scipy.optimize.lsq_linear one frame at a time, and one whole talkmesh retarget "
        "process beside one talkmesh export process.",
    )
    p.add_argument("--frames", type=int, default=2000, help="frames solved at once")
    p.add_argument("--scipy-frames", type=int, default=200, help="frames scipy solves")
    p.add_argument("--noise-cm", type=float, default=0.0, help="landmark noise (cm, std)")
    p.add_argument("--round-seconds", type=float, default=0.5)
    p.add_argument(
        "--process-seconds",
        type=float,
        default=60.0,
        help="audio for the whole-process rows (talkmesh retarget vs export); 0: skip them",
    )
    p.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_bench_retarget)


def add_bench_commands(subparsers: argparse._SubParsersAction) -> None:
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
        help="Whisper encoder: ours (JAX) vs CTranslate2 (float32, int8) and PyTorch transformers",
        description="Random weights of a real Whisper size written by CTranslate2, the same in "
        "every engine; audio seconds encoded per second. Needs ctranslate2 (the test extra); "
        "the PyTorch rows need the torch-reference extra and are skipped without it.",
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
        "--threads", type=int, default=0, help="CTranslate2's threads (0: the CPU count)"
    )
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
    _add_bench_train(kinds)
    _add_bench_meshtalk(kinds)
    _add_bench_export(kinds)
    _add_bench_whisper_context(kinds)
    _add_bench_retarget(kinds)
