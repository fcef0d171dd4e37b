"""A landmark map computed from anchors: the built-in rig, renumbered, turned, moved and in
metres, is found again vertex by vertex from six anchors; nearest surface points are checked
against dense sampling; bad anchors are refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.facemesh import canonical_face
from talkmesh_jax.rig.builtin_rig import builtin_rig
from talkmesh_jax.rig.fit_map import (
    _closest_on_triangles,
    closest_points,
    fit_surface_map,
    parse_anchors,
)

ANCHORS = (1, 152, 33, 263, 61, 291)  # nose tip, chin, eye corners, mouth corners


def posed_rig(seed: int = 0):
    """The built-in rig's neutral with its vertices shuffled, turned 30°, in metres, moved; and
    [478] the rig vertex of each landmark."""
    neutral, _ = builtin_rig()
    order = np.random.default_rng(seed).permutation(len(neutral))
    vertex_of = np.argsort(order)  # landmark i sits at rig vertex vertex_of[i]
    angle = np.deg2rad(30)
    turn = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    )
    vertices = (neutral @ turn.T / 100 + [0.2, 1.5, 0.0])[order]
    return vertices, vertex_of[canonical_face()["triangles"]], vertex_of


def test_anchors_find_every_vertex_of_a_renumbered_posed_rig() -> None:
    vertices, triangles, vertex_of = posed_rig()
    face, _ = builtin_rig()
    anchors = {i: int(vertex_of[i]) for i in ANCHORS}
    surface, report = fit_surface_map(face, vertices, triangles, anchors)
    nearest = surface.corners[np.arange(len(face)), surface.weights.argmax(1)]
    assert (nearest[:468] == vertex_of[:468]).all()  # every face point on its own vertex
    assert surface.weights[:468].max(1).min() > 0.98
    assert report["anchor_residual"] < 1e-4 and report["mean_distance"] < 1e-4  # metres
    # the iris points belong to no triangle: on the eyelid when close enough, else unmapped
    assert report["unmapped"] == int((~surface.mapped).sum()) <= 10
    # a noisy face (0.5 mm) still lands on the right vertex almost everywhere
    noisy = face + np.random.default_rng(1).normal(0, 0.05, face.shape).astype(np.float32)
    surface, _ = fit_surface_map(noisy, vertices, triangles, anchors)
    nearest = surface.corners[np.arange(len(face)), surface.weights.argmax(1)]
    assert (nearest[:468] == vertex_of[:468]).mean() > 0.9


def test_closest_points_match_dense_sampling() -> None:
    rng = np.random.default_rng(0)
    corners = rng.normal(size=(40, 3, 3))
    point = rng.normal(size=3) * 2
    weights = _closest_on_triangles(point, corners)
    assert np.allclose(weights.sum(1), 1) and (weights >= -1e-9).all()
    ours = np.linalg.norm(np.einsum("ck,ckd->cd", weights, corners) - point, axis=1)
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 101), np.linspace(0, 1, 101)), -1).reshape(-1, 2)
    grid = grid[grid.sum(1) <= 1]
    bary = np.concatenate([1 - grid.sum(1, keepdims=True), grid], 1)  # [S, 3]
    samples = np.einsum("sk,ckd->csd", bary, corners)
    dense = np.linalg.norm(samples - point, axis=2).min(1)
    assert (ours <= dense + 1e-9).all() and (dense - ours).max() < 0.05
    vertices = corners.reshape(-1, 3)
    triangles = np.arange(len(vertices)).reshape(-1, 3)
    face, _, distance = closest_points(point[None], vertices, triangles)
    assert distance[0] == pytest.approx(ours[face[0]])  # the weights it returns are the point's
    assert distance[0] <= np.linalg.norm(vertices - point, axis=1).min() + 1e-9


def test_bad_anchors_are_refused_in_one_line() -> None:
    vertices, triangles, vertex_of = posed_rig()
    face, _ = builtin_rig()
    with pytest.raises(TalkmeshError, match="at least 3"):
        fit_surface_map(face, vertices, triangles, {1: 5, 2: 6})
    with pytest.raises(TalkmeshError, match="the rig has no vertex 9999"):
        fit_surface_map(face, vertices, triangles, {1: 5, 152: 6, 33: 9999})
    with pytest.raises(TalkmeshError, match="landmark 600 is not in"):
        fit_surface_map(face, vertices, triangles, {1: 5, 152: 6, 600: 7})
    on_a_line = face.copy()
    on_a_line[33] = (face[1] + face[152]) / 2
    anchors = {i: int(vertex_of[i]) for i in (1, 152, 33)}
    with pytest.raises(TalkmeshError, match="lie on one line"):
        fit_surface_map(on_a_line, vertices, triangles, anchors)
    assert parse_anchors("1=5, 152=6,33=7") == {1: 5, 152: 6, 33: 7}
    with pytest.raises(TalkmeshError, match="'1:5' is not LANDMARK=VERTEX"):
        parse_anchors("1:5")
