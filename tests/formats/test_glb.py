"""OUT.glb (export --format glb): a PCA basis of the frames as morph targets in [0, 1], its
reconstruction error as reported, the randomized basis beside the exact one, and the rig page
playing it."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax.formats import glb as glb_format
from talkmesh_jax.formats.glb import GlbWriter, encode, pca_basis
from talkmesh_jax.formats.gltf import read_about, read_rig, read_weight_animation
from tests.formats.conftest import FRAMES, write_all


def _rebuilt_cm(path) -> np.ndarray:
    rig, (times, weights) = read_rig(path), read_weight_animation(path)
    np.testing.assert_allclose(np.diff(times), 0.04, atol=1e-6)
    assert weights.min() >= 0 and weights.max() <= 1 + 1e-6  # Blender's slider range
    return 100 * (rig.neutral + np.einsum("tk,kvd->tvd", weights, rig.targets))


def test_a_talking_face_needs_few_components_and_rebuilds_within_tolerance(
    tmp_path, talking_face, face_info
):
    (path,) = write_all(GlbWriter(tmp_path / "face.glb", face_info), talking_face)
    rebuilt = _rebuilt_cm(path)
    assert rebuilt.shape == (FRAMES, 468, 3)
    error = np.sqrt(((rebuilt - talking_face["landmarks"]) ** 2).sum(-1))  # [T, V] cm
    about = read_about(path)
    assert about["components"] <= 2  # the lips open and close: one direction of motion
    assert np.sqrt((error**2).mean()) == pytest.approx(about["rms_error_cm"], abs=1e-5)
    assert error.max() == pytest.approx(about["max_error_cm"], abs=1e-5)
    assert about["rms_error_cm"] <= glb_format.TOLERANCE_CM
    assert read_rig(path).triangles.tolist() == face_info.triangles.tolist()


def test_rich_motion_takes_the_components_it_needs_up_to_the_cap() -> None:
    rng = np.random.default_rng(0)
    mean = rng.normal(size=300 * 3)
    shapes = np.linalg.qr(rng.normal(size=(900, 40)))[0].T  # 40 orthonormal directions
    scales = 2.0 ** -np.arange(40)  # fast-falling energy
    frames = (mean + (rng.normal(size=(400, 40)) * scales) @ shapes).astype(np.float32)
    basis = pca_basis(frames, tolerance_cm=0.01)
    per_vertex = np.sqrt(np.cumsum((scales**2)[::-1])[::-1] * 400 / (400 * 300))  # ≈ RMS left
    assert abs(len(basis["directions"]) - int(np.argmax(per_vertex <= 0.01))) <= 1
    _, _, _, about = encode(frames, basis)
    assert about["rms_error_cm"] <= 0.0105
    everything = pca_basis(frames, tolerance_cm=0.0)
    assert len(everything["directions"]) == glb_format.MAX_COMPONENTS  # the cap


def test_randomized_basis_matches_the_exact_one(monkeypatch) -> None:
    rng = np.random.default_rng(1)
    shapes = np.linalg.qr(rng.normal(size=(600, 12)))[0].T
    frames = (rng.normal(size=(500, 12)) * np.linspace(3, 0.1, 12)) @ shapes
    frames = (frames + 0.001 * rng.normal(size=frames.shape)).astype(np.float32)
    exact = pca_basis(frames)
    monkeypatch.setattr(glb_format, "EXACT_MAX_VALUES", 10)
    randomized = pca_basis(frames)
    assert len(randomized["directions"]) == len(exact["directions"])
    np.testing.assert_allclose(randomized["energy"], exact["energy"], rtol=1e-6)
    overlap = np.abs(randomized["directions"] @ exact["directions"].T)
    np.testing.assert_allclose(np.diag(overlap), 1.0, atol=1e-6)
