"""The rig-weight solve against scipy's bounded least squares, and what its terms do."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import lsq_linear

from talkmesh_jax.rig.solve import SolveOptions, solve_weights


def random_problem(rng, frames=6, targets=12, vertices=40):
    basis = rng.normal(size=(targets, vertices, 3)).astype(np.float32)
    truth = rng.uniform(-0.3, 1.3, size=(frames, targets))  # some outside [0, 1]: the box binds
    noise = 0.05 * rng.normal(size=(frames, vertices, 3))
    return basis, (np.einsum("tk,knc->tnc", truth, basis) + noise).astype(np.float32)


@pytest.mark.parametrize("seed", range(4))
def test_equals_scipy_box_least_squares_frame_by_frame(seed: int) -> None:
    rng = np.random.default_rng(seed)
    basis, displacements = random_problem(rng)
    lower = rng.uniform(-0.2, 0.1, size=12)
    upper = rng.uniform(0.6, 1.0, size=12)
    l2 = 0.01
    ours = solve_weights(displacements, basis, lower, upper, SolveOptions(l2=l2, iterations=2000))
    a = basis.reshape(12, -1).T.astype(np.float64)
    scale = float(np.abs(basis).max())  # penalties are relative to the largest displacement
    a = np.vstack([a, scale * np.sqrt(l2) * np.eye(12)])  # the L2 term as extra rows
    for t, d in enumerate(displacements):
        b = np.concatenate([d.reshape(-1), np.zeros(12)])
        want = lsq_linear(a, b, bounds=(lower, upper), tol=1e-12, method="bvls").x
        np.testing.assert_allclose(ours[t], want, atol=2e-4)
    assert np.all(ours >= lower - 1e-6) and np.all(ours <= upper + 1e-6)


def test_smoothness_solves_the_stacked_problem() -> None:
    """With the temporal term all frames are one problem: scipy on the stacked system."""
    rng = np.random.default_rng(9)
    basis, displacements = random_problem(rng, frames=5, targets=6, vertices=10)
    smooth, l2 = 3.0, 1e-3
    ours = solve_weights(
        displacements, basis, 0.0, 1.0, SolveOptions(l2=l2, smooth=smooth, iterations=4000)
    )
    frames, k = 5, 6
    scale = float(np.abs(basis).max())  # penalties are relative to the largest displacement
    smooth, l2 = smooth * scale**2, l2 * scale**2
    b_matrix = basis.reshape(k, -1).T.astype(np.float64)
    rows, rhs = [], []
    for t in range(frames):
        block = np.zeros((b_matrix.shape[0], frames * k))
        block[:, t * k : (t + 1) * k] = b_matrix
        rows.append(block)
        rhs.append(displacements[t].reshape(-1))
    for t in range(1, frames):
        block = np.zeros((k, frames * k))
        block[:, t * k : (t + 1) * k] = np.sqrt(smooth) * np.eye(k)
        block[:, (t - 1) * k : t * k] = -np.sqrt(smooth) * np.eye(k)
        rows.append(block)
        rhs.append(np.zeros(k))
    rows.append(np.sqrt(l2) * np.eye(frames * k))
    rhs.append(np.zeros(frames * k))
    want = lsq_linear(np.vstack(rows), np.concatenate(rhs), bounds=(0, 1), tol=1e-12).x
    np.testing.assert_allclose(ours.reshape(-1), want, atol=5e-4)


def test_l1_makes_weights_sparse_and_exact_data_is_recovered() -> None:
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(20, 60, 3)).astype(np.float32)
    truth = np.zeros((4, 20))
    truth[:, :3] = rng.uniform(0.2, 0.9, size=(4, 3))
    displacements = np.einsum("tk,knc->tnc", truth, basis).astype(np.float32)
    exact = solve_weights(displacements, basis, options=SolveOptions(l2=0.0, iterations=1000))
    np.testing.assert_allclose(exact, truth, atol=1e-3)
    noisy = displacements + 0.2 * rng.normal(size=displacements.shape).astype(np.float32)
    dense = solve_weights(noisy, basis, options=SolveOptions(l2=0.0))
    sparse = solve_weights(noisy, basis, options=SolveOptions(l2=0.0, l1=40.0))
    assert (sparse[:, 3:] > 1e-3).sum() < (dense[:, 3:] > 1e-3).sum()


def test_weights_do_not_depend_on_the_rigs_unit() -> None:
    """The same rig in cm and in metres (and its data) gives the same weights, penalties on."""
    rng = np.random.default_rng(4)
    basis, displacements = random_problem(rng)
    options = SolveOptions(l2=0.05, l1=0.5, smooth=2.0)
    cm = solve_weights(displacements, basis, options=options)
    metres = solve_weights(displacements / 100, basis / 100, options=options)
    np.testing.assert_allclose(metres, cm, atol=1e-4)
    assert np.abs(cm - solve_weights(displacements, basis)).max() > 0.01  # the penalties act


def test_bad_shapes_and_limits_are_refused() -> None:
    basis = np.zeros((3, 5, 3), np.float32)
    with pytest.raises(ValueError, match="values per frame"):
        solve_weights(np.zeros((2, 4, 3)), basis)
    with pytest.raises(ValueError, match="lower limit"):
        solve_weights(np.zeros((2, 5, 3)), basis, lower=1.0, upper=0.0)
