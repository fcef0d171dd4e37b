"""Name matching in the styles rigs use, the similarity transform, and landmark-map files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from talkmesh_jax.rig.correspond import (
    SurfaceMap,
    match_names,
    read_surface_map,
    similarity,
    write_surface_map,
)


def test_arkit_names_match_in_every_common_style() -> None:
    rig = [
        "blendShape1.jawOpen",
        "EyeBlink_L",
        "eyeBlinkRight",
        "ARKit_mouthSmile_R",
        "bs_BrowInnerUp",
        "mouth-pucker",
        "CheekPuff",
        "hairBounce",
        "jaw_open_extra",
    ]
    match = match_names(rig, list(BLENDSHAPE_NAMES))
    paired = {rig[r]: BLENDSHAPE_NAMES[a] for r, a in match["pairs"]}
    assert paired == {
        "blendShape1.jawOpen": "jawOpen",
        "EyeBlink_L": "eyeBlinkLeft",
        "eyeBlinkRight": "eyeBlinkRight",
        "ARKit_mouthSmile_R": "mouthSmileRight",
        "bs_BrowInnerUp": "browInnerUp",
        "mouth-pucker": "mouthPucker",
        "CheekPuff": "cheekPuff",
    }
    assert match["unmatched_rig"] == ["hairBounce", "jaw_open_extra"]
    assert "jawForward" in match["unmatched_arkit"] and "_neutral" not in match["unmatched_arkit"]


def test_similarity_recovers_scale_rotation_and_translation() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(30, 3))
    angle = 0.7
    rotation = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    )
    moved = 0.01 * points @ rotation.T + [1.0, 2.0, -3.0]
    scale, found, shift = similarity(points, moved)
    assert abs(scale - 0.01) < 1e-9
    np.testing.assert_allclose(found, rotation, atol=1e-9)
    np.testing.assert_allclose(shift, [1.0, 2.0, -3.0], atol=1e-9)


def test_map_errors_name_the_file(tmp_path) -> None:
    path = tmp_path / "map.json"
    path.write_text("{}")
    with pytest.raises(TalkmeshError, match="map.json: not a landmark map"):
        read_surface_map(path, 478, 1000)
    path.write_text(json.dumps({"landmark_to_vertex": [0, 1, 2]}))
    with pytest.raises(TalkmeshError, match="maps 3 landmarks, the run has 478"):
        read_surface_map(path, 478, 1000)
    path.write_text(json.dumps({"landmark_to_vertex": [5000] * 478}))
    with pytest.raises(TalkmeshError, match=r"must be in \[0, 999\]"):
        read_surface_map(path, 478, 1000)
    path.write_text(json.dumps({"landmark_to_surface": [[[0, 1, 2], [0.5, 0.6, 0.2]]] * 478}))
    with pytest.raises(TalkmeshError, match="map.json: not a landmark map"):  # weights sum ≠ 1
        read_surface_map(path, 478, 1000)
    path.write_text(json.dumps({"landmark_to_vertex": list(range(478))}))
    surface = read_surface_map(path, 478, 1000)
    assert surface.mapped.all() and surface.corners[:, 0].tolist() == list(range(478))


def test_surface_map_round_trips_through_its_editable_file(tmp_path) -> None:
    """Entries: null, a vertex, or a triangle with weights; gather interpolates; one per line."""
    corners = np.array([[3, 4, 5], [7, 7, 7], [-1, -1, -1], [0, 1, 2]])
    weights = np.array([[0.2, 0.3, 0.5], [1, 0, 0], [0, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    path = tmp_path / "map.json"
    write_surface_map(path, SurfaceMap(corners, weights), {"made": "here"})
    lines = path.read_text().splitlines()
    assert "    null," in lines and "    7," in lines  # one landmark per line, editable
    assert json.loads(path.read_text())["about"] == {"made": "here"}
    surface = read_surface_map(path, 4, 8)
    assert surface.mapped.tolist() == [True, True, False, True]
    values = np.arange(8 * 3, dtype=np.float64).reshape(8, 3)
    want = [0.2 * values[3] + 0.3 * values[4] + 0.5 * values[5], values[7], values[:3].mean(0)]
    np.testing.assert_allclose(surface.gather(values), want, rtol=1e-5)
    stacked = np.stack([values, 2 * values])  # [K, V, 3] gathers per target
    np.testing.assert_allclose(surface.gather(stacked)[1], 2 * np.array(want), rtol=1e-5)
