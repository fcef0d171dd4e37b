"""Whisper's own context: 30 s chunks over the whole clip (`ChunkedWhisper`), its config, the
feature cache, and a model trained and exported on it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.cli import main
from talkmesh_jax.media import write_wav
from talkmesh_jax.models.audio_encoder import AudioEncoderConfig
from talkmesh_jax.whisper.context import ChunkedWhisper, feature_rows
from talkmesh_jax.whisper.encoder import WhisperAudioEncoder, WhisperEncoder, WhisperEncoderConfig

CONFIG = WhisperEncoderConfig(80, 32, 1, 2, 64, 1500)


@pytest.fixture(scope="module")
def params():
    mel = jnp.zeros((1, 2, 80))
    return WhisperEncoder(CONFIG).init(jax.random.key(3), mel)["params"]


def test_clip_up_to_30s_is_whispers_padded_encoding(params) -> None:
    audio = speechlike(1, 7 * 16000 + 123, seed=1)[0]
    ours = ChunkedWhisper(CONFIG, params).encode(audio)
    padded = WhisperAudioEncoder(CONFIG, context="padded").apply(
        {"params": {"encoder": params}}, jnp.asarray(audio[None])
    )[0]
    assert ours.shape == (feature_rows(len(audio)), 32) == (2 * 175, 32)
    np.testing.assert_allclose(ours, np.asarray(padded)[: len(ours)], atol=1e-5)


def reference_rows(chunked: ChunkedWhisper, audio: np.ndarray) -> np.ndarray:
    """Independent geometry: position p comes from chunk k = the first whose kept part (its
    middle, or from 0 for the first) reaches past p, encoded from its own 30 s of audio."""
    m, stride, rows = chunked.margin, chunked.stride, feature_rows(len(audio))
    out, encoded = [], {}
    for p in range(rows):
        k = 0 if p < 1500 - m else (p - (1500 - m)) // stride + 1
        start = k * stride
        if k not in encoded:
            encoded[k] = chunked.encode_chunk(audio[start * 320 : start * 320 + 480000])
        out.append(encoded[k][min(p - start, 1499)])
    return np.stack(out)


@pytest.mark.parametrize("margin", [5.0, 0.0])
def test_long_audio_keeps_each_chunks_middle_and_streams_identically(params, margin) -> None:
    audio = speechlike(1, 71 * 16000 + 77, seed=2)[0]
    chunked = ChunkedWhisper(CONFIG, params, margin_seconds=margin)
    offline = chunked.encode(audio)
    assert offline.shape == (feature_rows(len(audio)), 32)
    every = reference_rows(chunked, audio)
    np.testing.assert_allclose(offline, every, atol=1e-5)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.integers(0, len(audio), 9))
    streamed = np.concatenate(list(chunked.stream(np.split(audio, cuts))))
    np.testing.assert_array_equal(streamed, offline)


def test_many_clips_share_encoder_calls_and_get_what_each_gets_alone(params) -> None:
    lengths = [3 * 16000, 71 * 16000 + 77, 1600, 30 * 16000, 45 * 16000 + 333]
    audios = [speechlike(1, n, seed=i)[0] for i, n in enumerate(lengths)]
    chunked = ChunkedWhisper(CONFIG, params, batch_chunks=4)  # the accelerators' batching
    calls = []
    encode = chunked._encode
    chunked._encode = lambda p, batch: calls.append(batch.shape[0]) or encode(p, batch)
    together = chunked.encode_many(audios)
    assert sum(len(chunked.chunk_rows(n)) for n in lengths) == 10 and calls == [4, 4, 2]
    for audio, rows in zip(audios, together, strict=True):
        np.testing.assert_allclose(rows, chunked.encode(audio), atol=1e-5)
    # the noise gate is part of what the cache keys
    assert "gate_dbfs" not in chunked.settings
    assert ChunkedWhisper(CONFIG, params, gate_dbfs=-55).settings["gate_dbfs"] == -55.0


def test_context_config_and_legacy_padding() -> None:
    assert AudioEncoderConfig.from_dict({"pad_to_30s": True}).context == "padded"
    legacy = {"pad_to_30s": False, "context": "window"}
    assert AudioEncoderConfig.from_dict(legacy).context == "window"
    assert AudioEncoderConfig.from_dict({"context": "chunked"}).inputs_are_features
    assert not AudioEncoderConfig.from_dict(
        {"kind": "conv", "context": "chunked"}
    ).inputs_are_features
    with pytest.raises(TalkmeshError, match="context must be one of"):
        AudioEncoderConfig.from_dict({"context": "full"})
    with pytest.raises(TalkmeshError, match="needs frozen: true"):
        AudioEncoderConfig.from_dict({"context": "chunked", "frozen": False})


CHUNKED = [
    "model.audio_encoder.kind=whisper",
    "model.audio_encoder.size=tiny",
    "model.audio_encoder.context=chunked",
    "model.audio_encoder.frozen=True",
    "data.window_frames=20",
    "data.batch_size=4",
    "model.feature_dim=16",
]


def test_train_from_cached_features_then_export(synth_data, tmp_path, monkeypatch) -> None:
    from talkmesh_jax.data.dataset import Dataset
    from talkmesh_jax.data.packed import load_packed
    from talkmesh_jax.inference.runs import open_run
    from talkmesh_jax.train.data import whisper_features

    run = tmp_path / "run"
    argv = ["train", "--config", "configs/tiny.py", "--workdir", str(run), "--data"]
    argv += [str(synth_data), "--steps", "2", "--no-progress", "checkpoint.every=2"]
    before = (
        set((synth_data / "features").glob("*")) if (synth_data / "features").is_dir() else set()
    )
    assert main(argv + CHUNKED + ["data.augment.copies=2"]) == 0
    # other tests share synth_data and may have cached their own encoders' features there
    caches = list(set((synth_data / "features").iterdir()) - before)
    train_names, valid_names = (Dataset(synth_data).names_in(p) for p in ("train", "valid"))
    # each train clip three times (clean and two augmented copies), each valid clip once
    files = sorted(caches[0].glob("*.npy")) if len(caches) == 1 else []
    assert len(files) == 3 * len(train_names) + len(valid_names)
    first_clip = [np.load(f) for f in files if f.name.startswith(train_names[0] + "-")]
    assert len(first_clip) == 3 and not np.array_equal(first_clip[0], first_clip[1])
    # The cache holds the run's encoder's features of each clip, two rows a frame.
    config, predictor, _ = open_run(run)
    train = load_packed(next((synth_data / "packed").glob("train-*")))
    first = np.asarray(train.audio[train.audio_offsets[0] : train.audio_offsets[1]])
    chunked = predictor.features
    data = type("Data", (), {"train": train, "valid": None})
    family, variables = predictor.family, predictor.variables
    cached = whisper_features(config, family, variables, data, False)
    frames = int(train.frame_offsets[1])
    expected = chunked.encode(first)[: 2 * frames].reshape(frames, -1)
    np.testing.assert_allclose(cached["train"][:frames], expected, atol=2e-2, rtol=2e-3)
    # Resuming reads the cache: no clip (nor augmented copy) is encoded again.
    monkeypatch.setattr(ChunkedWhisper, "encode_chunks", lambda *a: pytest.fail("encoded again"))
    resume = ["train", "--workdir", str(run), "--steps", "3", "--no-progress", "--force-resume"]
    assert main(resume) == 0
    monkeypatch.undo()
    out = tmp_path / "speech.npy"
    wav = tmp_path / "speech.wav"
    write_wav(wav, first)
    assert main(["export", "--workdir", str(run), "--audio", str(wav), "--out", str(out)]) == 0
    assert np.load(out).shape[1:] == (478, 3)
    stream = ["stream", "--workdir", str(run), "--audio", str(wav), "--no-pace"]
    assert main(stream + ["--out", str(tmp_path / "s.jsonl")]) == 1
    assert not (tmp_path / "s.jsonl").exists()
