"""Whisper features of a dataset's clips, computed once and kept on disk (contexts 'chunked' and
'trailing').

DATA/features/<encoder fingerprint>/<clip>-<audio hash>.npy holds one clip's features
[2T, d_model] float16 (two rows per video frame, T the clip's frame count; export rounds its
features to float16 too, `whisper/context.as_stored`). The encoder fingerprint hashes the
encoder's weights, shape, compute dtype and context settings (chunk margin; trailing span, hop and
look-ahead) and `FEATURES_VERSION`; the audio hash is
of the clip's samples. So another checkpoint, changed audio or a new encoding version gets new
files and nothing stale is read; a file whose row count no longer matches the clip's frames (its
frame count changed, its audio did not) is encoded again. Each file is written atomically, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from talkmesh_jax.data.packed import PackedClips
from talkmesh_jax.fileio import atomic_path, write_json
from talkmesh_jax.whisper.context import POSITIONS_PER_FRAME, STORED_DTYPE, fit_rows

# Bump whenever what a cached file holds changes for the same weights and audio (the log-mel,
# the chunking, the stored precision): every cache made before is then ignored, not reused.
FEATURES_VERSION = 2
CLIPS_PER_CALL = 8  # missing clips handed to the encoder together (their chunks share calls)


def encoder_fingerprint(params, settings: dict) -> str:
    """16 hex digits of the encoder's weights `params` and its `settings` (architecture, chunk
    margin, compute dtype)."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path, leaf in sorted(jax.tree_util.tree_flatten_with_path(params)[0], key=str):
        digest.update(jax.tree_util.keystr(path).encode())
        digest.update(np.ascontiguousarray(np.asarray(leaf, np.float32)).tobytes())
    return digest.hexdigest()


def audio_hash(audio: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(audio).tobytes(), digest_size=6).hexdigest()


class FeatureCache:
    """DATA=`root`/features/<fingerprint of `encoder` and `dtype`>/ (see module docstring); the
    encoder's weights are hashed once, here."""

    def __init__(self, root: str | Path, encoder, dtype: str = "float32"):
        """`encoder`: a `ChunkedWhisper` or `TrailingWhisper` (`whisper/features.py`)."""
        self.encoder = encoder
        settings = {
            "version": FEATURES_VERSION,
            "architecture": asdict(encoder.config),
            **encoder.settings,
            "dtype": dtype,
        }
        self.directory = Path(root) / "features" / encoder_fingerprint(encoder.params, settings)
        write_json(self.directory / "encoder.json", settings)

    def features(
        self,
        clips: PackedClips,
        show_progress: bool = True,
        audio: np.ndarray | None = None,
        desc: str = "Whisper features",
    ) -> np.ndarray:
        """Per-frame features of every clip, [F, 2·d_model] float16 aligned with `clips`' frames
        (clip c's rows are frame_offsets[c]:frame_offsets[c + 1]); missing clips are encoded
        and saved first. The clip's frame count rules, whatever its audio's length. `audio`:
        other samples packed like clips.audio (an augmented copy, `data/augment.py`), encoded
        instead of the clips' own; its files sit beside theirs, told apart by the audio hash."""
        samples = clips.audio if audio is None else audio
        width = POSITIONS_PER_FRAME * self.encoder.config.d_model
        out = np.zeros((clips.num_frames, width), STORED_DTYPE)
        offsets, audio_offsets = clips.frame_offsets, clips.audio_offsets
        bar = tqdm(total=clips.num_clips, unit="clip", desc=desc, disable=not show_progress)
        missing = []  # (clip, its audio, its file) to encode
        for c, name in enumerate(clips.names):
            audio = np.asarray(samples[audio_offsets[c] : audio_offsets[c + 1]], np.float32)
            frames = int(offsets[c + 1] - offsets[c])
            file = self.directory / f"{name}-{audio_hash(audio)}.npy"
            rows = np.load(file) if file.is_file() else None
            if rows is None or rows.shape != (POSITIONS_PER_FRAME * frames, width // 2):
                missing.append((c, audio, file))
                continue
            out[offsets[c] : offsets[c + 1]] = rows.reshape(frames, width)
            bar.update(1)
        for i in range(0, len(missing), CLIPS_PER_CALL):
            group = missing[i : i + CLIPS_PER_CALL]
            encoded = self.encoder.encode_many([audio for _, audio, _ in group])
            for (c, _, file), rows in zip(group, encoded, strict=True):
                frames = int(offsets[c + 1] - offsets[c])
                rows = fit_rows(rows, POSITIONS_PER_FRAME * frames).astype(STORED_DTYPE)
                with atomic_path(file) as tmp:
                    np.save(tmp, rows)
                out[offsets[c] : offsets[c + 1]] = rows.reshape(frames, width)
                bar.update(1)
        bar.close()
        return out
