"""The recorded-speech yardstick: a run's lip error and lip-gap correlation on real voices.

`data/recorded.py` gives recordings of people with faces driven by their phone timings (the rule of
`talkmesh synth --drive phonemes`). The model predicts each clip from its audio alone; we report
the lip vertex error (LVE, cm) against the static mean face's, and Pearson's r between the
predicted and true lip gap (inner-lip midpoints 13–14, cm) over all frames. The same recordings
20 dB quieter and with white or pink (1/f) noise at 10 dB SNR show whether the model hears speech
or level;
and 4 s of digital silence against 4 s of −60 dBFS white hiss, whether a silent input holds the
face still (largest landmark distance between the two predictions, cm).
"""

from __future__ import annotations

import numpy as np

from talkmesh_jax.data.augment import pink_noise
from talkmesh_jax.data.recorded import recorded_clips, recorded_face
from talkmesh_jax.facemesh import region_indices
from talkmesh_jax.metrics import correlation, fit_length, lip_gap, lip_vertex_error

CONDITIONS = ("clean", "quiet_20db", "noise_10db", "pink_10db")


def perturbed(audio: np.ndarray, condition: str, seed: int = 0) -> np.ndarray:
    """audio [S] float32 as heard under `condition` (one of CONDITIONS)."""
    if condition == "clean":
        return audio
    if condition == "quiet_20db":
        return (audio * 0.1).astype(np.float32)
    if condition in ("noise_10db", "pink_10db"):
        power = float(np.mean(audio.astype(np.float64) ** 2))
        rng = np.random.default_rng(seed)
        white = condition == "noise_10db"
        noise = rng.standard_normal(len(audio)) if white else pink_noise(len(audio), rng)
        return (audio + noise * np.sqrt(power / 10)).astype(np.float32)
    raise ValueError(f"unknown condition {condition!r} (one of {CONDITIONS})")


def speech_scores(truths: list, predictions: list, mean_face: np.ndarray) -> dict:
    """Pooled over clips: {"lve_model", "lve_mean_face" (cm), "lve_ratio", "lip_gap_correlation"}
    from [T, V, 3] truths and predictions (all frames valid) and the static face [V, 3]."""
    lips = region_indices()["lips"]
    truth, model = np.concatenate(truths), np.concatenate(predictions)
    valid = np.ones(len(truth), bool)
    lve = lip_vertex_error(model, truth, valid, lips)[0]
    still = lip_vertex_error(np.broadcast_to(mean_face, truth.shape), truth, valid, lips)[0]
    return {
        "lve_model": lve,
        "lve_mean_face": still,
        "lve_ratio": lve / still,
        "lip_gap_correlation": correlation(lip_gap(model), lip_gap(truth)),
    }


def silence_vs_hiss(predictor, seconds: float = 4.0, seed: int = 0) -> float:
    """Largest distance (cm) between any landmark predicted for digital silence and for white
    hiss at −60 dBFS RMS, over all frames."""
    silence = np.zeros(int(seconds * 16000), np.float32)
    hiss = (1e-3 * np.random.default_rng(seed).standard_normal(len(silence))).astype(np.float32)
    quiet, hissing = (predictor.predict_all(a)["landmarks"] for a in (silence, hiss))
    return float(np.linalg.norm(quiet - hissing, axis=-1).max())


def recorded_speech_metrics(predictor, conditions=CONDITIONS, seed: int = 0) -> dict:
    """{"clips", "seconds", condition: speech_scores} of a landmark predictor (MediaPipe's 468
    or 478 points on the synthetic face) on every shipped recording."""
    clips = recorded_clips()
    count = predictor.faces["mean_face"].shape[0]
    truths = [recorded_face(clip, seed)["landmarks"][:, :count] for clip in clips]
    out: dict = {
        "clips": [clip.name for clip in clips],
        "seconds": float(sum(len(clip.audio) for clip in clips) / 16000),
    }
    for condition in conditions:
        predictions = []
        for clip, truth in zip(clips, truths, strict=True):
            landmarks = predictor.predict_all(perturbed(clip.audio, condition, seed))["landmarks"]
            predictions.append(fit_length(landmarks, len(truth)))
        out[condition] = speech_scores(truths, predictions, predictor.faces["mean_face"])
    out["silence_vs_hiss_cm"] = silence_vs_hiss(predictor, seed=seed)
    return out
