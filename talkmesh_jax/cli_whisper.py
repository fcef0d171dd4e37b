"""`talkmesh whisper …`: Whisper checkpoint tools."""

from __future__ import annotations

import argparse


def _convert(args: argparse.Namespace) -> int:
    from talkmesh_jax.models.whisper_convert import convert_ctranslate2

    out = convert_ctranslate2(args.source, args.out)
    print(f"wrote the Hugging Face checkpoint {out}")
    return 0


def add_whisper_commands(subparsers: argparse._SubParsersAction) -> None:
    whisper = subparsers.add_parser("whisper", help="Whisper checkpoint tools")
    tools = whisper.add_subparsers(dest="whisper", metavar="TOOL", required=True)
    p = tools.add_parser(
        "convert",
        help="CTranslate2 (faster-whisper) Whisper → Hugging Face directory",
        description="Writes config.json, generation_config.json, float32 model.safetensors "
        "(encoder and decoder), tokenizer and preprocessor files that transformers' "
        "WhisperForConditionalGeneration and WhisperProcessor load. Training configs can use "
        "the CTranslate2 directory directly (model.audio_encoder.checkpoint).",
    )
    p.add_argument("source", metavar="CT2_DIR", help="folder with model.bin (or a cached id)")
    p.add_argument("out", metavar="OUT_DIR", help="new folder for the Hugging Face checkpoint")
    p.set_defaults(func=_convert)


def _bench_context(args: argparse.Namespace) -> int:
    from talkmesh_jax.bench.whisper_context import format_table, run_context_bench
    from talkmesh_jax.cli import _report

    seconds = tuple(float(s) for s in args.seconds.split(","))
    results = run_context_bench(args.checkpoint, seconds, progress=not args.no_progress)
    return _report(args, results, format_table)


def add_bench_whisper_context(kinds: argparse._SubParsersAction) -> None:
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
