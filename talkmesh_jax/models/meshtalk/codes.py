"""How much of MeshTalk's categorical latent is in use: the measures that show a collapse.

From codes [B, T, H] (one class of C per head and frame) and the valid frames [B, T]:
  perplexity     per head, exp of the entropy (nats) of its class histogram over all valid
                 frames: 1 = one class only (the head is dead), C = all classes equally;
  changing       the fraction of heads whose class changes over time within a window (mean over
                 windows): a head that only ever switches between sequences carries no motion;
  expression_share  the fraction of (frame, head) codes that change when the expression input is
                 swapped for another sequence's (audio kept): 0 = the latent ignores the face it
                 is given, so the upper face, which only the expression input carries, cannot be
                 reconstructed and the context model has nothing to sample for it.
Measured on the encoder's argmax codes (what stage 1 learnt) and on codes sampled by the context
model from the audio (what inference draws).
"""

from __future__ import annotations

import numpy as np

# A latent is reported as collapsed when swapping the expression input changes fewer than this
# fraction of the codes, or its heads' mean perplexity is below COLLAPSED_PERPLEXITY.
COLLAPSED_EXPRESSION_SHARE = 0.02
COLLAPSED_PERPLEXITY = 1.5


def head_perplexity(codes: np.ndarray, valid: np.ndarray, num_classes: int) -> np.ndarray:
    """[H] perplexity of each head's classes over the valid frames of codes [B, T, H]."""
    flat = np.asarray(codes)[np.asarray(valid, bool)]  # [N, H]
    if not len(flat):
        return np.ones(codes.shape[-1])
    out = np.empty(flat.shape[1])
    for h in range(flat.shape[1]):
        counts = np.bincount(flat[:, h], minlength=num_classes).astype(np.float64)
        p = counts[counts > 0] / counts.sum()
        out[h] = np.exp(-(p * np.log(p)).sum())
    return out


def changing_heads(codes: np.ndarray, valid: np.ndarray) -> float:
    """Mean over windows of the fraction of heads whose class changes between valid frames."""
    fractions = []
    for window, mask in zip(np.asarray(codes), np.asarray(valid, bool), strict=True):
        kept = window[mask]
        if len(kept) > 1:
            fractions.append(float((kept != kept[0]).any(0).mean()))
    return float(np.mean(fractions)) if fractions else 0.0


def usage(
    codes: np.ndarray, swapped: np.ndarray | None, valid: np.ndarray, num_classes: int
) -> dict:
    """{"perplexity": mean over heads, "perplexity_min", "perplexity_per_head": [H],
    "changing_heads", and with `swapped` (codes of the same windows with another sequence's
    expression) "expression_share"} (module docstring)."""
    valid = np.asarray(valid, bool)
    per_head = head_perplexity(codes, valid, num_classes)
    out = {
        "perplexity": float(per_head.mean()),
        "perplexity_min": float(per_head.min()),
        "perplexity_per_head": [round(float(p), 3) for p in per_head],
        "changing_heads": changing_heads(codes, valid),
    }
    if swapped is not None:
        out["expression_share"] = float((np.asarray(swapped) != codes)[valid].mean())
    return out


def collapsed(encoder_usage: dict) -> str | None:
    """Why the encoder's latent looks collapsed, or None."""
    share = encoder_usage.get("expression_share")
    if share is not None and share < COLLAPSED_EXPRESSION_SHARE:
        return (
            f"swapping the expression input changes only {100 * share:.1f} % of the codes: the "
            "latent ignores the face (the upper face will not move)"
        )
    if encoder_usage["perplexity"] < COLLAPSED_PERPLEXITY:
        return f"the code heads' mean perplexity is {encoder_usage['perplexity']:.2f}"
    return None
