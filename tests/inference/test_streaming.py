"""Streaming equals offline export: with a stub generator exactly, for any chunking; with a trained
run within a stated tolerance at the model's own look-ahead; the look-ahead is measured."""

import time

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.inference.runs import open_run
from talkmesh_jax.inference.stream_io import FrameSink, paced, run_stream
from talkmesh_jax.inference.streaming import LatencyMeter, Streamer, measure_lookahead
from talkmesh_jax.targets import TargetLayout
from tests.inference.test_predictor import _audio, _predictor

STREAM_TOLERANCE_CM = 1e-3  # streaming vs offline landmarks at the model's own look-ahead


def _stream(streamer, audio, chunk):
    blocks = [streamer.push(audio[i : i + chunk]) for i in range(0, len(audio), chunk)]
    blocks.append(streamer.flush())
    return {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}, blocks


@pytest.mark.parametrize("chunk", [160, 640, 1000, 20000])
@pytest.mark.parametrize("samples", [300, 20 * 640, 21 * 640 + 7, 97 * 640 + 500])
def test_stream_equals_offline_for_any_chunking(chunk, samples):
    """The stub reads every sample of frames t … t + 2 for frame t: streamed with a look-ahead
    of 2 it equals offline; with 1, the zero-filled audio not yet arrived shows."""
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 3), batch_size=4, lookahead=2)
    audio = _audio(samples)
    offline = predictor.predict_all(audio)["blendshapes"]
    streamed, blocks = _stream(Streamer(predictor, lookahead_frames=2), audio, chunk)
    np.testing.assert_allclose(streamed["blendshapes"], offline, rtol=1e-6, atol=1e-4)
    if chunk <= 1000 and samples > 4 * 640:  # frames leave before the audio has ended
        short, _ = _stream(Streamer(predictor, lookahead_frames=1), audio, chunk)
        assert np.abs(short["blendshapes"] - offline).max() > 1.0


def test_frames_leave_after_the_lookahead():
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 3))
    streamer = Streamer(predictor, lookahead_frames=3)
    assert len(streamer.push(_audio(10 * 640))["blendshapes"]) == 7  # frames 0..6
    assert len(streamer.push(np.zeros(639, np.float32))["blendshapes"]) == 0
    assert len(streamer.push(np.zeros(1, np.float32))["blendshapes"]) == 1
    assert len(streamer.flush()["blendshapes"]) == 3


def test_trained_run_streams_like_it_exports(trained_run):
    _, predictor, _ = open_run(trained_run)
    lookahead = measure_lookahead(predictor)
    # tiny's conv encoder: 3 convs (dilations 2, 4, 6) + a ±80 ms mean + the STFT: ~4–5 frames
    assert 3 <= lookahead <= 6
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 5) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    audio += 0.01 * rng.standard_normal(len(audio)).astype(np.float32)
    offline = predictor.predict_all(audio)["landmarks"]
    streamed, _ = _stream(Streamer(predictor, lookahead), audio, 320)
    assert streamed["landmarks"].shape == offline.shape
    error = np.abs(streamed["landmarks"] - offline).max()
    assert error < STREAM_TOLERANCE_CM
    short, _ = _stream(Streamer(predictor, 0), audio, 320)
    assert np.abs(short["landmarks"] - offline).max() > error  # look-ahead matters


# -- latency, measured on the real-time clock of the audio's arrival -----------------------------


def test_meter_counts_from_the_last_sample_of_each_frame():
    meter = LatencyMeter(late_after_ms=100)
    meter.arrived(640, 1.0)  # frame 0's last sample arrived at 1.0 s
    meter.arrived(1280 + 100, 1.5)  # frame 1's at 1.5 s (in a chunk that ends past it)
    meter.written(0, 1, 1.05)
    meter.written(1, 1, 1.52)
    meter.arrived(1500, 2.0)  # the end of the audio, inside frame 2
    meter.written(2, 1, 2.01)  # released by flush: its last sample is the audio's last
    np.testing.assert_allclose(np.array(meter.latencies), [0.05, 0.02, 0.01], atol=1e-9)
    summary = meter.summary_ms()
    assert summary["frames"] == 3 and summary["late"] == 0
    assert summary["max"] == pytest.approx(50.0)


def test_pacing_stamps_real_time_arrival_even_when_the_consumer_is_late():
    now = [0.0]
    chunks = [np.zeros(320, np.float32)] * 5
    stamps = []
    for _, arrived in paced(chunks, clock=lambda: now[0], sleep=lambda s: None):
        stamps.append(arrived)
        now[0] += 0.5  # a consumer that needs 0.5 s per 20 ms chunk
    np.testing.assert_allclose(stamps, [0.02, 0.04, 0.06, 0.08, 0.1])


class _SlowStreamer:
    """A streamer with a look-ahead of 0 that needs `seconds_per_frame` of compute per frame."""

    def __init__(self, seconds_per_frame: float):
        self.seconds_per_frame, self.emitted, self.total = seconds_per_frame, 0, 0
        self.lookahead_ms = self.max_wait_ms = 0.0

    def _frames(self, upto: int) -> dict:
        count = max(0, upto - self.emitted)
        time.sleep(count * self.seconds_per_frame)
        self.emitted += count
        return {"blendshapes": np.zeros((count, 2), np.float32)}

    def push(self, pcm):
        self.total += len(pcm)
        return self._frames(self.total // 640)

    def flush(self):
        return self._frames(max(1, round(self.total / 640)))


class _NullSink:
    def write(self, block):
        pass

    def close(self):
        return None

    def discard(self):
        pass


def test_a_stream_that_falls_behind_real_time_shows_it():
    """80 ms of compute per 40 ms frame: the backlog grows by 40 ms a frame, so after 1.2 s of
    audio the last frames are ~1.2 s late (the old meter, stamping chunks when pushed, saw
    ~80 ms); a fast streamer stays within its look-ahead + one chunk."""
    chunks = [np.zeros(320, np.float32)] * 60  # 1.2 s in 20 ms chunks
    slow = run_stream(_SlowStreamer(0.08), paced(chunks), _NullSink())["latency_ms"]
    assert slow["frames"] == 30
    assert slow["max"] > 1000 and slow["late"] >= 25, slow
    fast = run_stream(_SlowStreamer(0.0), paced(chunks), _NullSink())["latency_ms"]
    assert fast["frames"] == 30 and fast["late"] == 0 and fast["max"] < 60, fast


def test_negative_lookahead_is_refused(trained_run, capsys):
    from talkmesh_jax.cli import main

    argv = ["stream", "--workdir", str(trained_run), "--lookahead-ms", "-40", "--audio", "x.wav"]
    assert main(argv) == 1
    assert "--lookahead-ms -40: must be 0 or more" in capsys.readouterr().err
    with pytest.raises(TalkmeshError, match="look-ahead"):
        Streamer(_predictor(TargetLayout.of("blendshapes", 2, 3)), lookahead_frames=-1)


def test_npy_stream_writes_the_curves_beside_the_landmarks(tmp_path):
    """--out x.npy: landmarks in x.npy and curves in x.blendshapes.npy, as export writes them."""
    layout = TargetLayout.of("landmarks+blendshapes", 4, 3)
    sink = FrameSink(str(tmp_path / "x.npy"), "npy", layout)
    rng = np.random.default_rng(0)
    blocks = [
        {"landmarks": rng.random((n, 4, 3), np.float32), "blendshapes": rng.random((n, 3))}
        for n in (2, 0, 5)
    ]
    for block in blocks:
        sink.write(block)
    assert sink.close() == tmp_path / "x.npy"
    for name, path in (("landmarks", "x.npy"), ("blendshapes", "x.blendshapes.npy")):
        expected = np.concatenate([b[name] for b in blocks]).astype(np.float32)
        np.testing.assert_array_equal(np.load(tmp_path / path), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.blendshapes.npy", "x.npy"]


# -- Whisper that streams: the trailing context ---------------------------------------------------


@pytest.fixture(scope="module")
def trailing_run(tmp_path_factory):
    """`whisper_tiny` with random tiny weights in the streaming context (hop 2, look-ahead 2)."""
    from talkmesh_jax.bench.export import write_random_run

    folder = tmp_path_factory.mktemp("trailing") / "run"
    context = ("model.audio_encoder.context=trailing",)
    return write_random_run("whisper_tiny", folder, "tiny", context)


def test_trailing_whisper_run_streams_exactly_like_it_exports(trailing_run):
    _, predictor, _ = open_run(trailing_run)
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(16000 * 4 + 77)).astype(np.float32)
    offline = predictor.predict_all(audio)["landmarks"]
    streamer = Streamer(predictor)
    assert streamer.lookahead == 0  # the decoder looks at no later features
    assert streamer.lookahead_ms == 80.0 and streamer.max_wait_ms == 120.0  # A = 2, H = 2
    streamed, blocks = _stream(streamer, audio, 320)
    assert streamed["landmarks"].shape == offline.shape
    np.testing.assert_allclose(streamed["landmarks"], offline, rtol=0, atol=1e-5)
    assert np.abs(offline - offline.mean(0)).max() > 0.01  # the frames follow the audio
    assert sum(len(b["landmarks"]) > 0 for b in blocks) > 40  # frames leave as audio arrives


def test_a_context_that_cannot_stream_and_a_foreign_lookahead_are_refused(trailing_run, tmp_path):
    from talkmesh_jax.bench.export import write_random_run

    _, predictor, _ = open_run(trailing_run)
    with pytest.raises(TalkmeshError, match="look-ahead is its Whisper context's"):
        Streamer(predictor, lookahead_frames=1)
    chunked = write_random_run("whisper_tiny", tmp_path / "chunked", "tiny")
    with pytest.raises(TalkmeshError, match="context=trailing"):
        Streamer(open_run(chunked)[1])


def test_talkmesh_stream_runs_a_trailing_whisper_run(trailing_run, tmp_path, capsys):
    import json

    from talkmesh_jax.cli import main
    from talkmesh_jax.media import write_wav

    audio = tmp_path / "speech.wav"
    write_wav(audio, 0.2 * np.sin(2 * np.pi * 190 * np.arange(int(1.5 * 16000)) / 16000))
    out = tmp_path / "frames.jsonl"
    argv = ["stream", "--workdir", str(trailing_run), "--audio", str(audio), "--no-pace"]
    assert main([*argv, "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == round(1.5 * 25) and "landmarks" in json.loads(lines[0])
    assert main([*argv, "--out", str(out), "--lookahead-ms", "40"]) == 1
    assert "look-ahead is its Whisper context's" in capsys.readouterr().err
