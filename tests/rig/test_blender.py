"""The `.glb` files we write, read back by real Blender (the `bpy` module from PyPI, its own glTF
importer): shape-key values at several frames and the evaluated mesh equal ours.

`bpy` 5.0 needs numpy < 2, so it lives in a venv of its own: CI's last step makes one and points
TALKMESH_BLENDER_PYTHON at its Python (`.ci/run`); without it these tests skip."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from talkmesh_jax.formats.gltf import read_rig, write_weight_animation
from talkmesh_jax.rig import blender_read
from talkmesh_jax.rig.builtin_rig import TARGET_NAMES, write_builtin_rig

FRAMES = (0, 1, 7, 24, 49)


@pytest.fixture(scope="module")
def blender_python() -> str:
    python = os.environ.get("TALKMESH_BLENDER_PYTHON")
    if not python:
        pytest.skip("TALKMESH_BLENDER_PYTHON is not set (a Python with bpy==5.0.1; see .ci/run)")
    return python


def read_in_blender(python: str, glb: Path, frames=FRAMES) -> dict:
    out = glb.with_suffix(".blender.json")
    argv = [python, blender_read.__file__, str(glb), "--out", str(out), "--fps", "25"]
    argv += ["--frames", ",".join(map(str, frames))]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())


def test_blender_plays_our_weight_animation(blender_python, tmp_path) -> None:
    rig_path = tmp_path / "rig.glb"
    write_builtin_rig(rig_path)
    weights = np.random.default_rng(0).uniform(0, 1, (50, len(TARGET_NAMES))).astype(np.float32)
    animated = write_weight_animation(rig_path, tmp_path / "animated.glb", weights, 25)
    read = read_in_blender(blender_python, animated)
    assert read["blender"].startswith("5.0") and read["names"] == list(TARGET_NAMES)
    rig = read_rig(animated)
    used = np.unique(rig.triangles)  # Blender's importer drops vertices no triangle uses
    for frame in FRAMES:
        values = np.array(read["values"][str(frame)])
        np.testing.assert_allclose(values, weights[frame], atol=1e-3)
        ours = rig.neutral + np.einsum("k,kvd->vd", weights[frame], rig.targets)
        vertices = np.array(read["vertices"][str(frame)])
        np.testing.assert_allclose(vertices, ours[used], atol=1e-5)  # metres


def test_blender_plays_a_retargeted_obj_rig(blender_python, trained_run, tmp_path) -> None:
    """`talkmesh retarget` onto an OBJ rig (renumbered, turned, metres; map from anchors): Blender
    reads the targets under their file names and the weights of OUT.weights.csv."""
    from talkmesh_jax.cli import main
    from talkmesh_jax.media import write_wav
    from tests.inference.test_retarget import posed_obj_rig

    obj, folder, anchors = posed_obj_rig(tmp_path / "objrig")
    audio = tmp_path / "a.wav"
    write_wav(audio, np.random.default_rng(0).normal(0, 0.05, 16000 * 3).astype(np.float32))
    out = tmp_path / "speech.glb"
    argv = ["retarget", "--workdir", str(trained_run), "--audio", str(audio), "--out", str(out)]
    assert main([*argv, "--rig", str(obj), "--targets", str(folder), "--anchors", anchors]) == 0
    lines = out.with_suffix(".weights.csv").read_text().splitlines()
    names = lines[0].split(",")[2:]
    table = np.array([[float(v) for v in line.split(",")[2:]] for line in lines[1:]])
    read = read_in_blender(blender_python, out, frames=(0, 10, 40, len(table) - 1))
    assert read["names"] == names == sorted(TARGET_NAMES)
    for frame in (0, 10, 40, len(table) - 1):
        np.testing.assert_allclose(read["values"][str(frame)], table[frame], atol=1e-3)


def test_blender_plays_an_exported_landmark_animation(blender_python, tmp_path) -> None:
    """export --format glb (PCA morph targets in [0, 1]): Blender's evaluated mesh is our frames."""
    from talkmesh_jax.facemesh import canonical_face
    from talkmesh_jax.formats.base import FaceInfo
    from talkmesh_jax.formats.glb import GlbWriter

    face = canonical_face()
    rng = np.random.default_rng(0)
    motion = rng.normal(0, 0.2, (3, 468, 3))  # cm, three directions of motion
    frames = face["vertices"] + np.einsum("tk,kvd->tvd", rng.uniform(0, 1, (50, 3)), motion)
    info = FaceInfo(468, face["triangles"], None, tmp_path / "unused.wav")
    writer = GlbWriter(tmp_path / "frames.glb", info)
    writer.write({"landmarks": frames.astype(np.float32)})
    (path,) = writer.finish()
    read = read_in_blender(blender_python, path)
    for frame in FRAMES:
        vertices = 100 * np.array(read["vertices"][str(frame)])  # cm
        np.testing.assert_allclose(vertices, frames[frame], atol=1e-3)
