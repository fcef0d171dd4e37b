"""One run, several Whisper contexts (`model.audio_encoder.extra_contexts`): training draws rows
from each context's cached features, export takes the cheapest context for each input's length
(encoder FLOPs), `talkmesh stream` the one that streams, eval the one asked."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.cli import main
from talkmesh_jax.config import apply_overrides, load_config
from talkmesh_jax.media import write_wav
from talkmesh_jax.models.audio_encoder import AudioEncoderConfig
from talkmesh_jax.whisper.context import ChunkedWhisper, batched_flops
from talkmesh_jax.whisper.encoder import WHISPER_SIZES, encoder_flops
from talkmesh_jax.whisper.trailing import TrailingWhisper


def test_extra_contexts_are_checked() -> None:
    config = AudioEncoderConfig.from_dict({"context": "chunked", "extra_contexts": ["trailing"]})
    assert config.contexts == ("chunked", "trailing") and config.extra_contexts == ("trailing",)
    assert AudioEncoderConfig.from_dict({"context": "chunked"}).contexts == ("chunked",)
    for bad in (["chunked"], ["window"], ["trailing", "trailing"]):
        with pytest.raises(TalkmeshError, match="extra_contexts must name other feature"):
            AudioEncoderConfig.from_dict({"context": "chunked", "extra_contexts": bad})
    with pytest.raises(TalkmeshError, match="extra_contexts needs a Whisper model"):
        AudioEncoderConfig.from_dict({"context": "window", "extra_contexts": ["trailing"]})


def test_an_override_names_a_list_of_bare_words() -> None:
    config = load_config("configs/whisper_tiny.py")
    apply_overrides(config, ["model.audio_encoder.extra_contexts=[trailing]"])
    assert list(config.model.audio_encoder.extra_contexts) == ["trailing"]
    apply_overrides(config, ["model.audio_encoder.extra_contexts=[]"])
    assert list(config.model.audio_encoder.extra_contexts) == []


def test_encoder_cost_of_each_context_follows_its_calls() -> None:
    """Chunked: one 30 s call per chunk, whatever the clip's length within it; trailing: one
    span per hop, batched by 16 (a partial batch at the next power of two). At tiny's shape, 2 s
    spans and 160 ms hops, a 2 s clip is cheaper in spans and a 10 s clip in chunks (what was
    measured: 0.28 vs 0.33 s and 1.21 vs 0.32 s on 2 cores)."""
    config = WHISPER_SIZES["tiny"]
    params = None  # the cost needs shapes only
    chunked = ChunkedWhisper(config, params, 5.0, batch_chunks=1)
    trailing = TrailingWhisper(config, params, 50, 4, 2)
    chunk, span = encoder_flops(config, 3000), encoder_flops(config, 200)
    assert chunked.flops(2 * 16000) == chunked.flops(29 * 16000) == chunk
    assert chunked.flops(60 * 16000) == 3 * chunk  # 20 s strides with 5 s margins
    assert trailing.flops(2 * 16000) == 16 * span  # 13 hops run as a batch of 16
    assert trailing.flops(10 * 16000) == 64 * span  # 63 hops: 3 batches of 16, then 15 → 16
    assert batched_flops(19, 16, 1.0) == 20 and batched_flops(0, 16, 1.0) == 0
    assert trailing.flops(2 * 16000) < chunked.flops(2 * 16000)
    assert trailing.flops(10 * 16000) > chunked.flops(10 * 16000)


TWO_CONTEXTS = [
    "model.audio_encoder.kind=whisper",
    "model.audio_encoder.size=tiny",
    "model.audio_encoder.context=chunked",
    "model.audio_encoder.extra_contexts=[trailing]",
    "model.audio_encoder.trailing_hop_frames=4",
    "model.audio_encoder.chunk_margin_seconds=4.0",  # caches of its own in the shared dataset
    "model.audio_encoder.frozen=True",
    "data.window_frames=20",
    "data.batch_size=4",
    "model.feature_dim=16",
]


@pytest.fixture(scope="module")
def two_context_run(synth_data, tmp_path_factory):
    """`tiny`'s decoder over random Whisper tiny trained 2 steps on chunked and trailing
    features, with one augmented copy; (run, the cache folders it made)."""
    run = tmp_path_factory.mktemp("contexts") / "run"
    features = synth_data / "features"
    before = set(features.iterdir()) if features.is_dir() else set()
    argv = ["train", "--config", "configs/tiny.py", "--workdir", str(run), "--data"]
    argv += [str(synth_data), "--steps", "2", "--no-progress", "checkpoint.every=2"]
    assert main(argv + TWO_CONTEXTS + ["data.augment.copies=1"]) == 0
    return run, sorted(set(features.iterdir()) - before)


def test_training_caches_and_draws_every_context(two_context_run, synth_data) -> None:
    import json

    from talkmesh_jax.data.dataset import Dataset

    _, caches = two_context_run
    dataset = Dataset(synth_data)
    train, valid = (len(dataset.names_in(p)) for p in ("train", "valid"))
    kinds = {}
    for cache in caches:
        settings = json.loads((cache / "encoder.json").read_text())
        kinds[settings.get("context", "chunked")] = len(list(cache.glob("*.npy")))
    # chunked: clean + copy of each train clip, and the valid clips; trailing: train clips only
    assert kinds == {"chunked": 2 * train + valid, "trailing": 2 * train}


def test_training_rows_draw_from_every_context(two_context_run) -> None:
    """The batcher's copies: chunked copy 1, then trailing's clean clip and copy 1; trailing's
    rows are the run's trailing encoding of the clip."""
    from talkmesh_jax.data.packed import load_packed
    from talkmesh_jax.inference.runs import open_run
    from talkmesh_jax.train.data import augmented_copies, whisper_features
    from talkmesh_jax.whisper.context import as_stored

    run, caches = two_context_run
    config, predictor, _ = open_run(run)
    train = load_packed(next(caches[0].parent.parent.glob("packed/train-*")))
    data = type("Data", (), {"train": train, "valid": None})
    copies = augmented_copies(config, train, False)
    out = whisper_features(config, predictor.family, predictor.variables, data, False, copies)
    assert len(out["train_copies"]) == 3
    frames = int(train.frame_offsets[1])
    first = np.asarray(train.audio[train.audio_offsets[0] : train.audio_offsets[1]])
    trailing = as_stored(predictor.feature_encoders["trailing"].encode(first))
    expected = trailing[: 2 * frames].reshape(frames, -1)
    np.testing.assert_allclose(out["train_copies"][1][:frames], expected, atol=1e-3)
    assert np.abs(out["train_copies"][1][:frames] - out["train"][:frames]).max() > 1e-2


def _speech(tmp_path, seconds: float, name: str):
    path = tmp_path / f"{name}.wav"
    write_wav(path, speechlike(1, int(seconds * 16000), seed=4)[0])
    return path


def test_export_takes_the_cheapest_context_and_stream_the_streaming_one(
    two_context_run, tmp_path, capsys
) -> None:
    from talkmesh_jax.inference.runs import open_run
    from talkmesh_jax.inference.streaming import Streamer

    run, _ = two_context_run
    short, long = _speech(tmp_path, 2.0, "short"), _speech(tmp_path, 10.0, "long")
    for audio, context in ((short, "trailing"), (long, "chunked")):
        out = tmp_path / f"{audio.stem}.npy"
        assert (
            main(["export", "--workdir", str(run), "--audio", str(audio), "--out", str(out)]) == 0
        )
        assert f"(Whisper context {context})" in capsys.readouterr().out
    chosen = tmp_path / "short_chunked.npy"
    argv = ["export", "--workdir", str(run), "--audio", str(short), "--out", str(chosen)]
    assert main([*argv, "--context", "chunked"]) == 0
    assert "(Whisper context chunked)" in capsys.readouterr().out
    by_context = {"trailing": np.load(tmp_path / "short.npy"), "chunked": np.load(chosen)}
    assert np.abs(by_context["trailing"] - by_context["chunked"]).max() > 1e-4
    # the stream takes 'trailing' and equals the export in it
    _, predictor, _ = open_run(run)
    assert predictor.context == "chunked"
    streamer = Streamer(predictor)
    assert predictor.context == "trailing" and streamer.lookahead_ms == 80.0
    audio = speechlike(1, 32000, seed=4)[0]
    blocks = [streamer.push(audio[i : i + 320]) for i in range(0, len(audio), 320)]
    streamed = np.concatenate([b["landmarks"] for b in [*blocks, streamer.flush()]])
    np.testing.assert_allclose(streamed, by_context["trailing"], rtol=0, atol=1e-4)


def test_eval_in_each_context_and_unknown_ones_refused(two_context_run, tmp_path, capsys):
    from talkmesh_jax.inference.runs import open_run

    run, _ = two_context_run
    for context in ("chunked", "trailing"):
        json_path = tmp_path / f"{context}.json"
        argv = ["eval", "--workdir", str(run), "--no-recorded", "--no-progress"]
        assert main([*argv, "--context", context, "--json", str(json_path)]) == 0
        assert f"Whisper context {context}" in capsys.readouterr().out
    _, predictor, _ = open_run(run)
    with pytest.raises(TalkmeshError, match="no Whisper context 'window'"):
        predictor.use_context("window")
