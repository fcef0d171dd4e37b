"""The rig page: a `.glb` animation played in headless Chromium. What its glTF reader computes
(morph targets dense and sparse, the node's transform, the weights sampled between keyframes)
equals ours, and the face it draws moves with the jaw."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from talkmesh_jax.formats.gltf import read_rig, write_weight_animation
from talkmesh_jax.formats.viewer import write_rig_page
from talkmesh_jax.rig.builtin_rig import TARGET_NAMES, write_builtin_rig
from tests.formats.test_gltf import write_sparse_rig
from tests.formats.test_media_formats import assert_face_drawn_and_moving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="needs Debian's chromium (.ci/run installs it)"
)


def _dump(page, frame: int) -> dict:
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
    done = subprocess.run(
        args + ["--dump-dom", f"{page.as_uri()}#dump={frame}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = done.stdout
    start = text.index('<pre id="dump">') + len('<pre id="dump">')
    return json.loads(text[start : text.index("</pre>", start)])


def _jaw_animation(tmp_path):
    rig_path = tmp_path / "rig.glb"
    write_builtin_rig(rig_path)
    weights = np.zeros((50, len(TARGET_NAMES)), np.float32)
    weights[:, TARGET_NAMES.index("jawOpen")] = np.sin(np.linspace(0, np.pi, 50)) ** 2
    weights[:, TARGET_NAMES.index("eyeBlinkLeft")] = np.linspace(0, 1, 50)
    return write_weight_animation(rig_path, tmp_path / "jaw.glb", weights, 25), weights


def test_rig_page_plays_the_glb_with_its_audio(tmp_path, face_info):
    animated, weights = _jaw_animation(tmp_path)
    page = write_rig_page(animated, face_info.audio, tmp_path / "jaw.html", "jaw")
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    assert text.count("AUDIO.push(") >= 1 and text.count("DATA.push(") >= 1
    rig = read_rig(animated)
    for frame in (0, 17, 49):
        seen = _dump(page, frame)
        assert seen["T"] == 50 and seen["V"] == len(rig.neutral)
        ours = rig.neutral + np.einsum("k,kvd->vd", weights[frame], rig.targets)
        got = np.array(seen["vertices"]).reshape(-1, 3) + seen["centre"]
        np.testing.assert_allclose(got, ours, atol=1e-6)
    assert_face_drawn_and_moving(page, 1.0, tmp_path)  # sin² peaks at 1 s


def test_rig_page_reads_sparse_targets_node_transforms_and_keyframes_between(tmp_path, face_info):
    """A rig with a sparse target on a turned, scaled, moved node, keyed at 10 fps: the page's
    vertices at 25 fps frames are the linear interpolation of the keys, moved by the node."""
    from pygltflib import GLTF2

    rig_path = write_sparse_rig(tmp_path)
    gltf = GLTF2().load(str(rig_path))
    angle = np.deg2rad(40)
    gltf.nodes[0].rotation = [0.0, float(np.sin(angle / 2)), 0.0, float(np.cos(angle / 2))]
    gltf.nodes[0].scale, gltf.nodes[0].translation = [2.0, 2.0, 2.0], [0.5, -1.0, 0.25]
    gltf.save_binary(str(tmp_path / "posed.glb"))
    rig = read_rig(tmp_path / "posed.glb")
    keys = np.random.default_rng(0).uniform(0, 1, (11, len(rig.names))).astype(np.float32)
    animated = write_weight_animation(tmp_path / "posed.glb", tmp_path / "keys.glb", keys, 10)
    page = write_rig_page(animated, face_info.audio, tmp_path / "keys.html")
    turn = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    )
    for frame in (0, 6, 13):  # 0.24 s: 40 % of the way from key 2 to key 3
        time = frame / 25 * 10
        low = int(np.floor(time))
        weights = keys[low] + (keys[min(low + 1, 10)] - keys[low]) * (time - low)
        local = rig.neutral + np.einsum("k,kvd->vd", weights, rig.targets)
        ours = 2.0 * local @ turn.T + [0.5, -1.0, 0.25]
        seen = _dump(page, frame)
        got = np.array(seen["vertices"]).reshape(-1, 3) + seen["centre"]
        np.testing.assert_allclose(got, ours, atol=1e-5)
    assert _dump(page, 0)["T"] == 26  # 1 s of keys at 25 fps


def test_rig_page_plays_an_exported_landmark_animation(tmp_path, talking_face, face_info):
    """export --format glb's file on the rig page: the frames come back (cm, within the PCA's
    tolerance)."""
    from talkmesh_jax.formats.glb import TOLERANCE_CM, GlbWriter
    from tests.formats.conftest import write_all

    (path,) = write_all(GlbWriter(tmp_path / "face.glb", face_info), talking_face)
    page = write_rig_page(path, face_info.audio, tmp_path / "face.html")
    for frame in (0, 12, 25):
        seen = _dump(page, frame)
        got = 100 * (np.array(seen["vertices"]).reshape(-1, 3) + seen["centre"])
        error = np.sqrt(((got - talking_face["landmarks"][frame]) ** 2).sum(-1))
        assert error.max() < 4 * TOLERANCE_CM
