"""`talkmesh whisper …`: Whisper checkpoint tools."""

from __future__ import annotations

import argparse


def _convert(args: argparse.Namespace) -> int:
    from talkmesh_jax.whisper.convert import convert_ctranslate2

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
