"""Training-time audio augmentation: what a recording does to speech that espeak-ng's clips lack.

Each training clip gets `copies` augmented versions of its audio (the face is the same). A copy
applies, each with its own probability: reverberation (a synthetic room response: a direct path
and exponentially decaying noise with RT60 drawn from `rt60_s`), band-limiting to a telephone
channel (300–3,400 Hz), additive white or pink (1/f) noise at an SNR drawn from `snr_db`, and
always a gain drawn from `gain_db` (then clipped to ±1, as a recorder would). A copy is a pure
function of (`seed`, the clip's name, the copy's number), so the feature cache finds it again
(`data/feature_cache.py` keys files by the audio's hash) and a resumed run sees the same audio.
Training draws, per batch row, the clean clip or one of its copies (`windows.AugmentedBatcher`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields

import numpy as np
from scipy import signal

from talkmesh_jax import SAMPLE_RATE, TalkmeshError

TELEPHONE_BAND_HZ = (300.0, 3400.0)


@dataclass(frozen=True)
class AugmentSpec:
    """config.data.augment (README, "Training on real recordings"); `copies` 0: off."""

    copies: int = 0
    noise_probability: float = 0.6
    snr_db: tuple[float, float] = (0.0, 30.0)
    pink_fraction: float = 0.5  # of the noisy copies, how many get pink noise (else white)
    gain_db: tuple[float, float] = (-30.0, 6.0)
    telephone_probability: float = 0.2
    reverb_probability: float = 0.3
    rt60_s: tuple[float, float] = (0.2, 0.9)
    seed: int = 0

    @classmethod
    def from_config(cls, values: dict) -> AugmentSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TalkmeshError(
                f"data.augment: unknown field {unknown[0]!r} (known: {sorted(known)})"
            )
        spec = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
        spec.check()
        return spec

    def check(self) -> None:
        if self.copies < 0:
            raise TalkmeshError(f"data.augment.copies must be ≥ 0, got {self.copies}")
        for name in (
            "noise_probability",
            "pink_fraction",
            "telephone_probability",
            "reverb_probability",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise TalkmeshError(f"data.augment.{name} must be in [0, 1]")
        for name in ("snr_db", "gain_db", "rt60_s"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise TalkmeshError(f"data.augment.{name} must be [low, high], got {[lo, hi]}")
        if self.rt60_s[0] <= 0:
            raise TalkmeshError("data.augment.rt60_s must be positive")


def pink_noise(count: int, rng: np.random.Generator) -> np.ndarray:
    """[count] float64 noise with power ∝ 1/f (above 20 Hz), unit variance."""
    spectrum = np.fft.rfft(rng.standard_normal(count))
    freqs = np.fft.rfftfreq(count, 1.0 / SAMPLE_RATE)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))
    noise = np.fft.irfft(spectrum, count)
    return noise / max(noise.std(), 1e-12)


def room_response(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response [n] float64: the direct path (1 at t = 0), then from
    2.5 ms on Gaussian noise decaying by 60 dB over `rt60` seconds, scaled so the reverberant
    energy is that of an early-to-late ratio drawn in [0, 10] dB."""
    length = int(min(rt60, 1.5) * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * 10.0 ** (-3.0 * t / rt60)
    tail[: int(0.0025 * SAMPLE_RATE)] = 0.0
    tail *= np.sqrt(10.0 ** (-rng.uniform(0.0, 10.0) / 10.0) / max(np.sum(tail**2), 1e-12))
    tail[0] = 1.0
    return tail


def telephone(audio: np.ndarray) -> np.ndarray:
    """audio band-limited to 300–3,400 Hz (4th-order Butterworth, zero phase)."""
    sos = signal.butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return signal.sosfiltfilt(sos, audio)


def augment_audio(audio: np.ndarray, spec: AugmentSpec, rng: np.random.Generator) -> np.ndarray:
    """One augmented copy of `audio` [S] float32 16 kHz (module docstring) → [S] float32."""
    x = np.asarray(audio, np.float64)
    level = np.sqrt(np.mean(x**2)) if len(x) else 0.0
    if rng.random() < spec.reverb_probability:
        x = signal.fftconvolve(x, room_response(rng.uniform(*spec.rt60_s), rng))[: len(x)]
    if rng.random() < spec.telephone_probability and len(x) > 27:
        x = telephone(x)
    if level > 0:  # the speech's level is kept through the room and the channel
        x *= level / max(np.sqrt(np.mean(x**2)), 1e-12)
    if rng.random() < spec.noise_probability and len(x):
        pink = rng.random() < spec.pink_fraction
        noise = pink_noise(len(x), rng) if pink else rng.standard_normal(len(x))
        x = x + noise * level * 10.0 ** (-rng.uniform(*spec.snr_db) / 20.0)
    x *= 10.0 ** (rng.uniform(*spec.gain_db) / 20.0)
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def copy_rng(spec: AugmentSpec, name: str, copy: int) -> np.random.Generator:
    """The generator of copy `copy` (1 …) of clip `name`: the same whatever the clip order."""
    return np.random.default_rng([spec.seed, zlib.crc32(name.encode()), copy])


def augmented_audio(
    audio: np.ndarray, offsets: np.ndarray, names: list[str], spec: AugmentSpec, copy: int
) -> np.ndarray:
    """Copy `copy` (≥ 1) of every clip of packed `audio` [S] (clip c: offsets[c]:offsets[c+1]),
    packed the same way: [S] float32."""
    out = np.empty(len(audio), np.float32)
    for c, name in enumerate(names):
        lo, hi = int(offsets[c]), int(offsets[c + 1])
        out[lo:hi] = augment_audio(audio[lo:hi], spec, copy_rng(spec, name, copy))
    return out
