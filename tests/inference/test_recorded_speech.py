"""The recorded-speech yardstick's arithmetic and conditions, with oracle and static predictors."""

import numpy as np

from talkmesh_jax.data.recorded import recorded_clips, recorded_face
from talkmesh_jax.inference.recorded_speech import (
    CONDITIONS,
    perturbed,
    recorded_speech_metrics,
    speech_scores,
)


class _Oracle:
    """Predicts the recorded truth for the clean clip (whatever it is given, by length)."""

    def __init__(self, static: bool = False):
        self.truth = {c.num_frames: recorded_face(c)["landmarks"] for c in recorded_clips()}
        self.faces = {"mean_face": self.truth[recorded_clips()[0].num_frames].mean(0)}
        self.static = static

    def predict_all(self, audio):
        frames = len(audio) // 640
        still = np.broadcast_to(self.faces["mean_face"], (frames, *self.faces["mean_face"].shape))
        if self.static or frames not in self.truth or not np.abs(audio).max() > 0.05:
            return {"landmarks": still}  # silence and hiss: a face at rest
        return {"landmarks": self.truth[frames]}


def test_oracle_scores_zero_and_static_scores_one():
    perfect = recorded_speech_metrics(_Oracle(), conditions=("clean",))
    assert perfect["clean"]["lve_ratio"] == 0.0
    assert perfect["clean"]["lip_gap_correlation"] > 0.999
    assert perfect["clips"] == [c.name for c in recorded_clips()] and perfect["seconds"] > 55
    assert perfect["silence_vs_hiss_cm"] == 0.0
    still = recorded_speech_metrics(_Oracle(static=True), conditions=("clean",))
    assert abs(still["clean"]["lve_ratio"] - 1.0) < 1e-9
    assert still["clean"]["lip_gap_correlation"] is None  # a face that does not move


def test_conditions_change_the_audio_as_named():
    audio = recorded_clips()[1].audio
    assert np.array_equal(perturbed(audio, "clean"), audio)
    assert np.allclose(perturbed(audio, "quiet_20db"), audio * 0.1)
    assert set(CONDITIONS) == {"clean", "quiet_20db", "noise_10db", "pink_10db"}
    low_high = []
    for condition in ("noise_10db", "pink_10db"):
        noise = perturbed(audio, condition) - audio
        snr = 10 * np.log10(np.mean(audio.astype(np.float64) ** 2) / np.mean(noise**2))
        assert abs(snr - 10) < 0.2
        spectrum = np.abs(np.fft.rfft(noise)) ** 2
        freqs = np.fft.rfftfreq(len(noise), 1 / 16000)
        low_high.append(spectrum[freqs < 1000].mean() / spectrum[freqs > 4000].mean())
    assert low_high[0] < 1.2 and low_high[1] > 5  # white is flat, pink falls with frequency


def test_scores_pool_frames_over_clips():
    rng = np.random.default_rng(0)
    truth = [rng.normal(size=(30, 478, 3)), rng.normal(size=(10, 478, 3))]
    scores = speech_scores(truth, [t + 0.1 for t in truth], np.zeros((478, 3)))
    assert abs(scores["lve_model"] - np.sqrt(0.03)) < 1e-6  # every lip point 0.1 cm off in x, y, z
    assert abs(scores["lip_gap_correlation"] - 1.0) < 1e-9
