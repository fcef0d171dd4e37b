"""An OBJ rig (a neutral and a folder of whole-head targets) reads as the same rig as its glTF."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.facemesh import canonical_face
from talkmesh_jax.formats.gltf import read_rig
from talkmesh_jax.rig.builtin_rig import TARGET_NAMES, builtin_rig
from talkmesh_jax.rig.obj_rig import obj_rig_to_glb
from talkmesh_jax.wavefront import write_obj


def write_obj_rig(folder, vertices, triangles, targets) -> tuple:
    """neutral.obj and targets/<name>.obj (each the whole head in that shape)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "targets").mkdir(exist_ok=True)
    write_obj(folder / "neutral.obj", vertices, triangles)
    for name, delta in targets.items():
        write_obj(folder / "targets" / f"{name}.obj", vertices + delta, triangles)
    return folder / "neutral.obj", folder / "targets"


def test_obj_rig_is_the_same_rig_as_glb(tmp_path) -> None:
    neutral, targets = builtin_rig()
    triangles = canonical_face()["triangles"]
    obj, folder = write_obj_rig(tmp_path, neutral, triangles, targets)
    rig = read_rig(obj_rig_to_glb(obj, folder, tmp_path / "rig.glb"))
    assert rig.names == sorted(TARGET_NAMES)  # file names, in name order
    np.testing.assert_allclose(rig.neutral, neutral, atol=1e-5)
    for k, name in enumerate(rig.names):
        np.testing.assert_allclose(rig.targets[k], targets[name], atol=2e-5)
    assert rig.triangles.tolist() == triangles.tolist()


def test_obj_rig_errors_name_the_file(tmp_path) -> None:
    neutral, targets = builtin_rig()
    triangles = canonical_face()["triangles"]
    obj, folder = write_obj_rig(tmp_path, neutral, triangles, {"jawOpen": targets["jawOpen"]})
    write_obj(folder / "broken.obj", neutral[:100], np.zeros((0, 3), int))
    with pytest.raises(TalkmeshError, match="broken.obj: 100 vertices, the neutral neutral.obj"):
        obj_rig_to_glb(obj, folder, tmp_path / "rig.glb")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TalkmeshError, match="empty: no .obj shape targets"):
        obj_rig_to_glb(obj, empty, tmp_path / "rig.glb")
    assert not (tmp_path / "rig.glb").exists()


def test_builtin_rig_as_obj_files_from_the_cli(tmp_path) -> None:
    from talkmesh_jax.cli import main
    from talkmesh_jax.rig.obj_rig import read_obj_rig

    assert main(["rig", "builtin", str(tmp_path / "face.obj")]) == 0
    neutral, triangles, targets = read_obj_rig(tmp_path / "face.obj", tmp_path / "face_targets")
    base, want = builtin_rig()
    np.testing.assert_allclose(neutral, base, atol=1e-5)
    assert sorted(targets) == sorted(TARGET_NAMES)
    for name, delta in targets.items():
        np.testing.assert_allclose(delta, want[name], atol=2e-5)
    assert triangles.tolist() == canonical_face()["triangles"].tolist()
