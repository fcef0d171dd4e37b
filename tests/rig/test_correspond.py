"""Name matching in the styles rigs use, the similarity transform, and vertex-map errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from talkmesh_jax.rig.correspond import match_names, read_vertex_map, similarity


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


def test_vertex_map_errors_name_the_file(tmp_path) -> None:
    path = tmp_path / "map.json"
    path.write_text("{}")
    with pytest.raises(TalkmeshError, match="map.json: not a vertex map"):
        read_vertex_map(path, 478, 1000)
    path.write_text(json.dumps({"landmark_to_vertex": [0, 1, 2]}))
    with pytest.raises(TalkmeshError, match="maps 3 landmarks, the run has 478"):
        read_vertex_map(path, 478, 1000)
    path.write_text(json.dumps({"landmark_to_vertex": [5000] * 478}))
    with pytest.raises(TalkmeshError, match=r"must be in \[-1, 999\]"):
        read_vertex_map(path, 478, 1000)
    path.write_text(json.dumps({"landmark_to_vertex": list(range(478))}))
    assert read_vertex_map(path, 478, 1000).tolist() == list(range(478))
