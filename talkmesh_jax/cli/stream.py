"""`talkmesh stream`: parsing and printing; the streaming is in talkmesh_jax.inference."""

from __future__ import annotations

import argparse

from talkmesh_jax.cli.train import add_sampling_arguments


def _stream(args: argparse.Namespace) -> int:
    import sys

    from talkmesh_jax.inference.runs import open_run
    from talkmesh_jax.inference.stream_io import (
        FrameSink,
        StreamOptions,
        audio_chunks,
        run_stream,
        stream_format,
    )
    from talkmesh_jax.inference.streaming import Streamer

    options = StreamOptions(
        args.audio,
        args.out,
        args.format,
        args.lookahead_ms,
        args.chunk_ms,
        pace=not args.no_pace,
        pcm=args.pcm,
    )
    fmt = stream_format(options)
    chunks = audio_chunks(options)
    _, predictor, _ = open_run(args.workdir, args.checkpoint, args.seed, args.temperature)
    streamer = Streamer(predictor, options.lookahead_frames)
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


def add_stream_command(subparsers: argparse._SubParsersAction) -> None:
    """Adds stream."""
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
    add_sampling_arguments(p)
    p.set_defaults(func=_stream)
