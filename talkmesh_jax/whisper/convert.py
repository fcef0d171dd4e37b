"""`talkmesh whisper convert`: a CTranslate2 (faster-whisper) Whisper → a Hugging Face directory.

The output is what `transformers.WhisperForConditionalGeneration.from_pretrained` and
`WhisperProcessor.from_pretrained` load: config.json, generation_config.json, float32
model.safetensors (encoder and decoder; proj_out tied to the token embeddings), tokenizer.json
with its config, and preprocessor_config.json. Written into a temporary folder and renamed, so a
failed conversion leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import PendingPath, write_json
from talkmesh_jax.whisper import ctranslate2
from talkmesh_jax.whisper.weights import resolve_checkpoint

TOKENIZER_CONFIG = {
    "tokenizer_class": "WhisperTokenizer",
    "processor_class": "WhisperProcessor",
    "bos_token": "<|endoftext|>",
    "eos_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>",
    "unk_token": "<|endoftext|>",
    "add_prefix_space": False,
    "errors": "replace",
    "model_max_length": 1024,
}


def preprocessor_config(num_mel_bins: int) -> dict:
    """WhisperFeatureExtractor's settings (30 s chunks of 16 kHz audio, 10 ms hops)."""
    return {
        "feature_extractor_type": "WhisperFeatureExtractor",
        "processor_class": "WhisperProcessor",
        "feature_size": num_mel_bins,
        "sampling_rate": 16000,
        "hop_length": 160,
        "chunk_length": 30,
        "n_fft": 400,
        "n_samples": 480000,
        "nb_max_frames": 3000,
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": False,
    }


def convert_ctranslate2(source: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Writes the Hugging Face form of the CTranslate2 Whisper at `source` (a directory or a
    cached model id) into the new directory `out`; returns `out`."""
    from safetensors.numpy import save_file

    directory = resolve_checkpoint(source)
    if not ctranslate2.is_ctranslate2_dir(directory):
        raise TalkmeshError(f"{directory}: no CTranslate2 model.bin (not a faster-whisper model)")
    if not (directory / "tokenizer.json").is_file():
        raise TalkmeshError(f"{directory}: no tokenizer.json beside model.bin")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TalkmeshError(f"{out}: already exists and is not an empty directory")
    variables = ctranslate2.read_model_bin(directory / "model.bin")
    metadata = ctranslate2.read_metadata(directory)
    config = ctranslate2.hf_config(variables, metadata)
    tensors = ctranslate2.hf_tensors(variables, str(directory / "model.bin"))
    del variables
    pending = PendingPath(out, folder=True)
    try:
        weights = pending.tmp / "model.safetensors"
        save_file(tensors, str(weights), metadata={"format": "pt"})
        weights.chmod(pending.tmp.stat().st_mode & 0o666)  # safetensors writes it private
        write_json(pending.tmp / "config.json", config)
        write_json(
            pending.tmp / "generation_config.json",
            ctranslate2.generation_config(config, metadata),
        )
        shutil.copyfile(directory / "tokenizer.json", pending.tmp / "tokenizer.json")
        write_json(pending.tmp / "tokenizer_config.json", TOKENIZER_CONFIG)
        write_json(
            pending.tmp / "preprocessor_config.json", preprocessor_config(config["num_mel_bins"])
        )
        return pending.commit()
    finally:
        pending.discard()
