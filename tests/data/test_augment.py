"""Training-time audio augmentation: each effect does what it says, copies are reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.data.augment import (
    AugmentSpec,
    augment_audio,
    augmented_audio,
    copy_rng,
    pink_noise,
    room_response,
    telephone,
)

NOTHING = dict(
    noise_probability=0.0, gain_db=(0.0, 0.0), telephone_probability=0.0, reverb_probability=0.0
)


def band_power(x: np.ndarray, lo: float, hi: float) -> float:
    """Mean power spectral density of x between lo and hi Hz."""
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 16000)
    return float(spectrum[(freqs >= lo) & (freqs < hi)].mean())


def test_gain_and_noise_at_the_drawn_snr() -> None:
    speech = 0.1 * speechlike(1, 48000, seed=1)[0]
    quieter = augment_audio(
        speech, AugmentSpec(**{**NOTHING, "gain_db": (-20, -20)}), np.random.default_rng(0)
    )
    np.testing.assert_allclose(quieter, 0.1 * speech, rtol=1e-5, atol=1e-7)
    for pink in (0.0, 1.0):
        spec = AugmentSpec(
            **{**NOTHING, "noise_probability": 1.0, "snr_db": (10.0, 10.0), "pink_fraction": pink}
        )
        noisy = augment_audio(speech, spec, np.random.default_rng(1))
        noise = noisy.astype(np.float64) - speech
        snr = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(noise**2))
        assert abs(snr - 10.0) < 0.1


def test_pink_noise_falls_3_db_per_octave_and_white_is_flat() -> None:
    pink = pink_noise(160000, np.random.default_rng(0))
    assert abs(pink.std() - 1.0) < 1e-6
    # 1/f: the density at 200–400 Hz is 8× that at 1.6–3.2 kHz (three octaves up)
    assert 6.5 < band_power(pink, 200, 400) / band_power(pink, 1600, 3200) < 9.5
    white = np.random.default_rng(0).standard_normal(160000)
    assert 0.85 < band_power(white, 200, 400) / band_power(white, 1600, 3200) < 1.15


def test_telephone_keeps_300_to_3400_hz() -> None:
    t = np.arange(16000) / 16000
    for hz, kept in ((100, False), (1000, True), (2500, True), (6000, False)):
        out = telephone(np.sin(2 * np.pi * hz * t))[2000:-2000]
        gain = np.sqrt(np.mean(out**2) / 0.5)
        assert (gain > 0.9) if kept else (gain < 0.1), (hz, gain)


@pytest.mark.parametrize("rt60", [0.3, 0.8])
def test_room_response_decays_by_60_db_in_rt60(rt60: float) -> None:
    response = room_response(rt60, np.random.default_rng(2))
    assert response[0] == 1.0 and np.all(response[1:40] == 0.0)  # direct path, then 2.5 ms gap
    tail = response[40:] ** 2
    energy = np.cumsum(tail[::-1])[::-1]  # Schroeder's backward integral
    decay_db = 10 * np.log10(energy / energy[0])
    t = np.arange(len(tail)) / 16000
    fit = (decay_db > -25) & (decay_db < -5)  # T20, extrapolated to 60 dB
    slope = np.polyfit(t[fit], decay_db[fit], 1)[0]
    assert abs(-60 / slope - rt60) < 0.15 * rt60


def test_copies_are_reproducible_per_clip_and_differ_between_copies() -> None:
    audio = (0.1 * speechlike(1, 3 * 16000, seed=4)[0]).astype(np.float32)
    offsets = np.array([0, 16000, 48000])
    spec = AugmentSpec(copies=2, seed=7)
    first = augmented_audio(audio, offsets, ["a", "b"], spec, 1)
    assert first.shape == audio.shape and first.dtype == np.float32
    np.testing.assert_array_equal(first, augmented_audio(audio, offsets, ["a", "b"], spec, 1))
    assert not np.array_equal(first, augmented_audio(audio, offsets, ["a", "b"], spec, 2))
    # clip "b" alone (another dataset order) gets the same copy
    alone = augment_audio(audio[16000:], spec, copy_rng(spec, "b", 1))
    np.testing.assert_array_equal(first[16000:], alone)
    assert np.abs(first).max() <= 1.0


def test_bad_augment_config_is_one_line() -> None:
    with pytest.raises(TalkmeshError, match="unknown field 'copie'"):
        AugmentSpec.from_config({"copie": 2})
    with pytest.raises(TalkmeshError, match="snr_db must be"):
        AugmentSpec.from_config({"snr_db": [30, 0]})
    with pytest.raises(TalkmeshError, match="noise_probability"):
        AugmentSpec.from_config({"noise_probability": 2})
    assert AugmentSpec.from_config({"copies": 3, "gain_db": [-6, 0]}).gain_db == (-6, 0)
