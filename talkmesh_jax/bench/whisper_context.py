"""`talkmesh bench whisper-context`: how far Whisper features of each encoding context are from
Whisper's own 30 s context, on real weights and espeak-ng speech of several lengths.

Reference: every 20 ms position encoded inside the 30 s of the clip centred on it (clamped to the
clip; a clip up to 30 s is its one zero-padded 30 s encoding, exactly what Whisper was trained
on). Compared on the same positions:
  window     5 s windows (125 frames, every 100 frames as inference cuts them), each alone;
  padded_10s the same windows zero-padded to 10 s;
  padded_30s the same windows zero-padded to 30 s (the original project);
  chunked_*  the whole clip in 30 s chunks with the given margin (`ChunkedWhisper`).
Figures: relative RMS (‖F − R‖ / ‖R‖ over all compared rows), per-row cosine (mean, over speech
rows, and the minimum).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from talkmesh_jax import SAMPLES_PER_FRAME
from talkmesh_jax.whisper.context import CHUNK_POSITIONS, ChunkedWhisper, feature_rows
from talkmesh_jax.whisper.encoder import WhisperEncoder, audio_positions
from talkmesh_jax.whisper.log_mel import log_mel_spectrogram
from talkmesh_jax.whisper.weights import load_whisper_encoder

WINDOW_FRAMES, HOP_FRAMES = 125, 100
SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "Seven children are playing near the river after school.",
    "We believe the economy will grow stronger in the coming years.",
    "My grandmother always made soup when the weather was cold.",
    "Thirty people signed up for the morning class before the deadline.",
    "Our plan is simple: make sure every family has good health care.",
    "The mountain road was closed for most of the summer.",
)
VOICES = ("en", "en-us", "en-gb-scotland", "en-us+f3")


def speech_clips(seconds: tuple[float, ...], scratch: Path, seed: int = 0) -> list[dict]:
    """espeak-ng speech: one clip per target length, sentences joined by 0.3–0.8 s pauses (a
    single sentence for lengths under 6 s). [{"name", "audio" [S] 16 kHz}]."""
    from talkmesh_jax.data.synth import speak

    rng = np.random.default_rng(seed)
    clips = []
    for n, target in enumerate(seconds):
        voice = VOICES[n % len(VOICES)]
        parts, total = [], 0
        while total < target * 16000:
            sentence = SENTENCES[int(rng.integers(len(SENTENCES)))]
            parts.append(speak(sentence, voice, 165, 50, scratch))
            if target < 6:
                break
            parts.append(np.zeros(int(rng.uniform(0.3, 0.8) * 16000), np.float32))
            total = sum(len(p) for p in parts)
        audio = np.concatenate(parts).astype(np.float32)
        clips.append({"name": f"{voice}_{len(audio) / 16000:.1f}s", "audio": audio})
    return clips


class Encoders:
    """The encodings compared, all with one set of weights."""

    def __init__(self, checkpoint: str):
        self.config, self.params = load_whisper_encoder(checkpoint)
        module, bins = WhisperEncoder(self.config), self.config.num_mel_bins

        def padded(params, audio, samples):
            mel = log_mel_spectrogram(audio, bins, samples)
            return module.apply({"params": params}, mel)[0]

        self._padded = jax.jit(padded, static_argnums=2)
        self.chunked = {
            margin: ChunkedWhisper(self.config, self.params, margin) for margin in (0.0, 2.5, 5.0)
        }

    def encode(self, audio: np.ndarray, pad_to: int | None) -> np.ndarray:
        """[n] → positions of the audio [ceil(n / 320), D], encoded alone or padded."""
        out = self._padded(self.params, jnp.asarray(audio[None]), pad_to)
        return np.asarray(out)[: audio_positions(len(audio))]

    def reference(self, audio: np.ndarray) -> np.ndarray:
        """[feature_rows(S), D]: each position inside the 30 s centred on it."""
        rows = feature_rows(len(audio))
        chunk = self.chunked[0.0]
        out = np.zeros((rows, self.config.d_model), np.float32)
        for block in range(0, rows, 100):
            start = int(np.clip(block + 50 - CHUNK_POSITIONS // 2, 0, max(0, rows - 1500)))
            encoded = chunk.encode_chunk(audio[start * 320 : start * 320 + 480000])
            end = min(rows, block + 100)
            out[block:end] = encoded[block - start : end - start]
        return out


def compare(features: np.ndarray, reference: np.ndarray, speech: np.ndarray) -> dict:
    """Sums for the figures (so windows and clips pool): squared error, squared norm, cosines."""
    cosine = np.sum(features * reference, -1) / (
        np.linalg.norm(features, axis=-1) * np.linalg.norm(reference, axis=-1) + 1e-12
    )
    return {
        "error": float(np.sum((features - reference) ** 2)),
        "norm": float(np.sum(reference**2)),
        "cosines": cosine,
        "speech": speech,
    }


def speech_rows(audio: np.ndarray, rows: int) -> np.ndarray:
    """[rows] bool: positions whose 20 ms of audio is within 30 dB of the clip's loudest."""
    padded = np.zeros(rows * 320, np.float32)
    padded[: min(len(audio), len(padded))] = audio[: len(padded)]
    energy = 10 * np.log10(np.mean(padded.reshape(rows, 320) ** 2, -1) + 1e-10)
    return energy > energy.max() - 30


def methods(encoders: Encoders, audio: np.ndarray) -> dict[str, list[tuple[int, np.ndarray]]]:
    """{method: [(first row, features [n, D])]} of one clip."""
    frames = feature_rows(len(audio)) // 2
    out: dict[str, list] = {"window": [], "padded_10s": [], "padded_30s": []}
    for start in range(0, max(1, frames - WINDOW_FRAMES + HOP_FRAMES), HOP_FRAMES):
        piece = audio[start * SAMPLES_PER_FRAME : (start + WINDOW_FRAMES) * SAMPLES_PER_FRAME]
        for name, pad in (("window", None), ("padded_10s", 160000), ("padded_30s", 480000)):
            out[name].append((2 * start, encoders.encode(piece, pad)))
    for margin, chunked in encoders.chunked.items():
        out[f"chunked_margin_{margin:g}s"] = [(0, chunked.encode(audio))]
    return out


def summarise(parts: list[dict]) -> dict:
    cosines = np.concatenate([p["cosines"] for p in parts])
    speech = np.concatenate([p["speech"] for p in parts])
    error, norm = sum(p["error"] for p in parts), sum(p["norm"] for p in parts)
    return {
        "relative_rms": float(np.sqrt(error / norm)),
        "cosine_mean": float(cosines.mean()),
        "cosine_speech_mean": float(cosines[speech].mean()),
        "cosine_min": float(cosines.min()),
        "rows": int(len(cosines)),
    }


def run_context_bench(
    checkpoint: str, seconds: tuple[float, ...] = (3, 4, 5, 15, 15, 45, 75), progress: bool = True
) -> dict:
    """{"groups": {group: {method: figures}}, "clips": […], …}; groups by clip length."""
    from talkmesh_jax.bench.timing import machine_info

    encoders = Encoders(checkpoint)
    with tempfile.TemporaryDirectory() as scratch:
        clips = speech_clips(seconds, Path(scratch))
    pooled: dict[str, dict[str, list]] = {}
    for clip in tqdm(clips, desc="clips", disable=not progress):
        audio = clip["audio"]
        reference = encoders.reference(audio)
        speech = speech_rows(audio, len(reference))
        seconds_long = len(audio) / 16000
        group = "under_6s" if seconds_long < 6 else "6_to_30s" if seconds_long <= 30 else "over_30s"
        for name, pieces in methods(encoders, audio).items():
            for first, features in pieces:
                end = min(len(reference), first + len(features))
                part = compare(features[: end - first], reference[first:end], speech[first:end])
                pooled.setdefault(group, {}).setdefault(name, []).append(part)
    groups = {
        group: {name: summarise(parts) for name, parts in by_method.items()}
        for group, by_method in pooled.items()
    }
    return {
        "benchmark": "whisper_context",
        "checkpoint": str(checkpoint),
        "architecture": encoders.config.as_dict(),
        "clips": [{"name": c["name"], "seconds": len(c["audio"]) / 16000} for c in clips],
        "reference": "each 20 ms position inside the 30 s of the clip centred on it (a clip "
        "up to 30 s: its zero-padded 30 s encoding)",
        "groups": groups,
        "machine": machine_info(),
    }


def format_table(results: dict) -> str:
    lines = [f"Whisper context fidelity vs the 30 s reference — {results['checkpoint']}"]
    header = f"{'clips':<10} {'method':<22} {'rel RMS':>8} {'cos mean':>9} {'cos speech':>11}"
    lines += [header + f" {'cos min':>8}"]
    for group, by_method in results["groups"].items():
        for name, f in by_method.items():
            lines.append(
                f"{group:<10} {name:<22} {f['relative_rms']:>8.3f} {f['cosine_mean']:>9.3f} "
                f"{f['cosine_speech_mean']:>11.3f} {f['cosine_min']:>8.3f}"
            )
    return "\n".join(lines)
