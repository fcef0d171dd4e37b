"""The model subcommands of `talkmesh` (demo, train, eval, export, plot, bench train); parsing
only."""

from __future__ import annotations

import argparse
from pathlib import Path

from talkmesh_jax import TalkmeshError


def _resolved_config(args: argparse.Namespace):
    from talkmesh_jax.config import apply_overrides, load_config

    path = args.config
    if path is None:
        path = Path(args.workdir) / "config.json"
        if not path.exists():
            raise TalkmeshError(f"{args.workdir}: no config.json to resume from; pass --config")
    config = load_config(path)
    overrides = list(args.overrides)
    if args.data is not None:
        overrides.append(f"data.dataset={str(Path(args.data).absolute())!r}")
    if args.steps is not None:
        overrides.append(f"train.steps={args.steps}")
    apply_overrides(config, overrides)
    return config


def _train(args: argparse.Namespace) -> int:
    from talkmesh_jax.train.loop import train_and_evaluate

    record = train_and_evaluate(
        _resolved_config(args), args.workdir, not args.no_progress, args.force_resume
    )
    print(", ".join(f"{k} {v:.5g}" for k, v in record.items()))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from talkmesh_jax.evaluate import evaluate, format_summary, write_results
    from talkmesh_jax.runs import beside_run

    summary, rows = evaluate(
        args.workdir,
        args.split,
        args.checkpoint,
        not args.no_progress,
        args.seed,
        args.temperature,
    )
    json_path = Path(args.json or beside_run(args.workdir, f"eval_{args.split}.json"))
    write_results(summary, rows, json_path, json_path.with_suffix(".csv"))
    print(format_summary(summary))
    print(f"written: {json_path} and {json_path.with_suffix('.csv')} (per clip)")
    return 0


def _export(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from talkmesh_jax.export import export_landmarks

    inputs = []

    def report(source: Path, files, reason) -> None:  # tqdm.write: above the progress bar
        inputs.append(source)
        if reason is not None:
            tqdm.write(f"talkmesh: error: {reason}", file=sys.stderr)
            return
        frames = files[0][1] if files else 0
        paths = ", ".join(str(path) for path, _ in files)
        tqdm.write(f"{source}: {frames} frames → {paths}", file=sys.stdout)

    _, failed = export_landmarks(
        args.workdir,
        args.audio,
        args.out,
        args.checkpoint,
        on_result=report,
        seed=args.seed,
        temperature=args.temperature,
        formats=args.format,
        show_progress=not args.no_progress,
    )
    if Path(args.audio).is_dir():
        done = len(inputs) - len(failed)
        print(f"exported {done} of {len(inputs)} inputs, {len(failed)} failed")
    return 1 if failed else 0


def _stream(args: argparse.Namespace) -> int:
    import math
    import sys

    from talkmesh_jax.runs import open_run
    from talkmesh_jax.stream_command import (
        FrameSink,
        StreamOptions,
        audio_chunks,
        run_stream,
        stream_format,
    )
    from talkmesh_jax.streaming import Streamer

    options = StreamOptions(
        args.audio,
        args.out,
        args.format,
        args.lookahead_ms,
        args.chunk_ms,
        pace=not args.no_pace,
        pcm=args.pcm,
    )
    if args.lookahead_ms is not None and not args.lookahead_ms >= 0:
        raise TalkmeshError(f"--lookahead-ms {args.lookahead_ms:g}: must be 0 or more")
    if not args.chunk_ms > 0:
        raise TalkmeshError(f"--chunk-ms {args.chunk_ms:g}: must be more than 0")
    fmt = stream_format(options)
    chunks = audio_chunks(options)
    _, predictor, _ = open_run(args.workdir, args.checkpoint, args.seed, args.temperature)
    frames = None if args.lookahead_ms is None else math.ceil(args.lookahead_ms / 40.0)
    streamer = Streamer(predictor, frames)
    sink = FrameSink(args.out, fmt, predictor.layout)
    result = run_stream(streamer, chunks, sink, args.chunk_ms)
    latency = result["latency_ms"]
    print(
        f"streamed {result['frames']} frames ({result['seconds']:.1f} s of audio) in "
        f"{result['wall_s']:.1f} s; look-ahead {result['lookahead_ms']:.0f} ms; latency mean "
        f"{latency['mean']:.0f} ms, p95 {latency['p95']:.0f} ms, max {latency['max']:.0f} ms "
        f"(last audio sample arrived → frame written); {latency['late']} of "
        f"{latency['frames']} frames behind real time (> {latency['late_after_ms']:.0f} ms)"
        + (f"; written {result['out']}" if result["out"] else ""),
        file=sys.stderr,
    )
    return 0


def _plot(args: argparse.Namespace) -> int:
    from talkmesh_jax.train.plot import plot_run

    print(f"wrote {plot_run(args.workdir, args.out)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from talkmesh_jax.demo import demo_options, format_demo, run_demo

    options = demo_options(args.workdir, args.clips, args.steps, not args.no_progress, args.drive)
    print(format_demo(run_demo(options)))
    return 0


def _bench_train(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.train import TrainBenchConfig, format_table, run_train_bench
    from talkmesh_jax.cli import _report
    from talkmesh_jax.config import apply_overrides, load_config

    config = load_config(args.config)
    apply_overrides(config, list(args.overrides))
    bench = TrainBenchConfig(args.inference_seconds, args.round_seconds, anchor=not args.no_anchor)
    return _report(args, run_train_bench(config, bench, not args.no_progress), format_table)


def add_bench_train(kinds: argparse._SubParsersAction) -> None:
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
    from talkmesh_jax.cli import _report

    bench = MeshTalkBenchConfig(
        args.sample_seconds, args.round_seconds, args.mesh_levels, one_core=not args.all_cores
    )
    results = run_meshtalk_bench(args.config, list(args.overrides), bench, not args.no_progress)
    return _report(args, results, format_table)


def add_bench_meshtalk(kinds: argparse._SubParsersAction) -> None:
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
    from talkmesh_jax.cli import _report

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
    return _report(args, run_export_bench(bench, not args.no_progress), format_table)


def add_bench_export(kinds: argparse._SubParsersAction) -> None:
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


def _add_sampling_arguments(p: argparse.ArgumentParser) -> None:
    """--seed and --temperature, for the runs of sampling models (MeshTalk)."""
    p.add_argument("--seed", type=int, default=0, help="sampling models (MeshTalk): the seed")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="sampling models: softmax temperature (0: argmax)",
    )


def add_model_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds demo, train, eval, export, plot."""
    p = subparsers.add_parser(
        "demo",
        help="synth data → train the tiny config → eval → export new speech (a few minutes)",
    )
    p.add_argument("--workdir", default="talkmesh-demo", help="folder for everything it makes")
    p.add_argument("--clips", type=int, default=40, help="synthetic clips to train on")
    p.add_argument("--steps", type=int, default=500, help="training steps")
    p.add_argument(
        "--drive",
        choices=["loudness", "phonemes"],
        default="loudness",
        help="what moves the synthetic mouth (see talkmesh synth --drive)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_demo)

    p = subparsers.add_parser("train", help="train (or resume) a model from a config")
    p.add_argument(
        "--config",
        help="tiny|original|large_gpu, a .py file or a config.json (default: RUN's own)",
    )
    p.add_argument(
        "--workdir", required=True, metavar="RUN", help="run folder (resumed if present)"
    )
    p.add_argument("--data", metavar="DIR", help="dataset folder (overrides data.dataset)")
    p.add_argument("--steps", type=int, help="training steps (overrides train.steps)")
    p.add_argument(
        "--force-resume",
        action="store_true",
        help="resume even if the data, reference faces or cosine schedule changed since the start",
    )
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.learning_rate=3e-4"
    )
    p.set_defaults(func=_train)

    p = subparsers.add_parser(
        "eval", help="LVE, MVE, FDD, MSEs (and blendshape errors) of a run and static baselines"
    )
    p.add_argument("--workdir", required=True, metavar="RUN")
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument("--checkpoint", default="best", help="best, latest or a step number")
    _add_sampling_arguments(p)
    p.add_argument(
        "--json", metavar="OUT", help="summary JSON (default RUN.eval_<split>.json, beside RUN)"
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_eval)

    p = subparsers.add_parser(
        "export",
        help="a run's animation for audio files: npy, json, csv (ARKit curves), OBJ, mp4, HTML",
    )
    p.add_argument("--workdir", required=True, metavar="RUN")
    p.add_argument("--audio", required=True, help="an audio (or video) file, or a folder of them")
    p.add_argument(
        "--out",
        required=True,
        help="OUT.<format> (OUT names every output), or a folder (one set of outputs per input)",
    )
    p.add_argument(
        "--format",
        metavar="LIST",
        help="comma-separated: npy,json,csv,obj,mp4,html (default: OUT's suffix, else npy)",
    )
    p.add_argument("--checkpoint", default="best", help="best, latest or a step number")
    _add_sampling_arguments(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_export)

    p = subparsers.add_parser(
        "stream", help="frames as the audio arrives (a file at real-time pace, or PCM on stdin)"
    )
    p.add_argument("--workdir", required=True, metavar="RUN")
    p.add_argument(
        "--audio", default="-", help="an audio file, or - for raw mono 16 kHz PCM on stdin"
    )
    p.add_argument("--pcm", default="s16le", help="stdin sample format: s16le or f32le")
    p.add_argument("--out", default="-", help="FILE.jsonl, FILE.npy, or - for stdout (jsonl)")
    p.add_argument("--format", help="jsonl or npy (default: the suffix of --out)")
    p.add_argument(
        "--lookahead-ms",
        type=float,
        help="audio waited for after a frame (default: the model's own, so frames equal export's)",
    )
    p.add_argument("--chunk-ms", type=float, default=20.0, help="audio read per push")
    p.add_argument(
        "--no-pace", action="store_true", help="read a file as fast as possible, not in real time"
    )
    p.add_argument("--checkpoint", default="best", help="best, latest or a step number")
    _add_sampling_arguments(p)
    p.set_defaults(func=_stream)

    p = subparsers.add_parser("plot", help="PNG of the training and validation curves of a run")
    p.add_argument("workdir", metavar="RUN")
    p.add_argument("--out", help="PNG path (default RUN.curves.png, beside RUN)")
    p.set_defaults(func=_plot)
