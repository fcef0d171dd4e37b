"""Per-frame rig weights from landmark motion: a box-constrained, regularised least squares.

For frames t = 1 … T with target displacements d_t ([N, 3], the rig's units, of the N rig points
that carry landmarks) and the rig's K shape targets B_k ([N, 3] each, at weight 1), find weights
w_t ∈ [lower, upper]^K that minimise

    Σ_t ‖Σ_k w_tk B_k − d_t‖² / s² + l2 Σ_t ‖w_t‖² + l1 Σ_t Σ_k w_tk + smooth Σ_t ‖w_t − w_{t−1}‖²

(l1 on weights ≥ 0 is a plain sum: the sparsity term). s is the largest target displacement
(max |B|): the data term is measured relative to the rig's size, so the same l2, l1 and smooth
give the same weights for a rig in cm, in metres or at any scale (tested). All frames are solved
together in JAX by FISTA (accelerated projected gradient) on the K × K normal equations:
G = BᵀB / s² and c_t = Bᵀd_t / s² are formed once, each iteration costs O(T K²), and the step is
1 / L with L the gradient's Lipschitz constant, 2 (λ_max(G) + l2 + 4 · smooth). Without the
smoothness term frames are independent and the problem is each frame's box-QP;
`tests/rig/test_solve.py` checks it against `scipy.optimize.lsq_linear`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True)
class SolveOptions:
    """Regularisation and iterations of `solve_weights` (see module docstring)."""

    l2: float = 1e-4
    l1: float = 0.0
    smooth: float = 0.0
    iterations: int = 1000


def _smoothness_gradient(w: jnp.ndarray) -> jnp.ndarray:
    """Gradient of Σ_t ‖w_t − w_{t−1}‖² over w [T, K] (zero-padded differences at the ends)."""
    diff = w[1:] - w[:-1]  # [T − 1, K]
    pad = jnp.zeros_like(w[:1])
    return 2.0 * (jnp.concatenate([pad, diff]) - jnp.concatenate([diff, pad]))


@partial(jax.jit, static_argnums=7)
def _fista(gram, targets, lower, upper, l2, l1, smooth, iterations):
    """FISTA on the normal equations. gram [K, K], targets [T, K] = Bᵀd_t; → w [T, K]."""
    lipschitz = 2.0 * (jnp.linalg.eigvalsh(gram)[-1] + l2 + 4.0 * smooth)
    step = 1.0 / jnp.maximum(lipschitz, 1e-12)

    def gradient(w):
        data = 2.0 * (w @ gram - targets) + 2.0 * l2 * w + l1
        return data + smooth * _smoothness_gradient(w)

    def body(_, carry):
        w, y, t = carry
        w_next = jnp.clip(y - step * gradient(y), lower, upper)
        t_next = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        y_next = w_next + ((t - 1.0) / t_next) * (w_next - w)
        return w_next, y_next, t_next

    start = jnp.clip(jnp.zeros_like(targets), lower, upper)
    w, _, _ = jax.lax.fori_loop(0, iterations, body, (start, start, jnp.float32(1.0)))
    return w


def solve_weights(
    displacements: np.ndarray,
    basis: np.ndarray,
    lower: np.ndarray | float = 0.0,
    upper: np.ndarray | float = 1.0,
    options: SolveOptions = SolveOptions(),
) -> np.ndarray:
    """Weights [T, K] float32 for `displacements` [T, N, 3] (any unit) from targets `basis`
    [K, N, 3] (same unit, at weight 1), each weight within [lower, upper] (scalars or [K] per-target
    limits), by the regularised least squares of the module docstring."""
    d = np.asarray(displacements, np.float64).reshape(len(displacements), -1)  # [T, 3N]
    b = np.asarray(basis, np.float64).reshape(len(basis), -1)  # [K, 3N]
    if d.shape[1] != b.shape[1]:
        raise ValueError(f"displacements have {d.shape[1]} values per frame, targets {b.shape[1]}")
    count = len(b)
    lower = np.broadcast_to(np.asarray(lower, np.float32), (count,))
    upper = np.broadcast_to(np.asarray(upper, np.float32), (count,))
    if np.any(lower > upper):
        raise ValueError("every lower limit must be at most its upper limit")
    scale = max(float(np.abs(b).max()), 1e-12)  # the rig's unit: penalties are relative to it
    gram = jnp.asarray((b @ b.T) / scale**2, jnp.float32)
    targets = jnp.asarray((d @ b.T) / scale**2, jnp.float32)
    weights = _fista(
        gram,
        targets,
        jnp.asarray(lower),
        jnp.asarray(upper),
        jnp.float32(options.l2),
        jnp.float32(options.l1),
        jnp.float32(options.smooth),
        int(options.iterations),
    )
    return np.asarray(weights, np.float32)
