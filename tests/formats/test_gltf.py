"""glTF rigs: what we write reads back (neutral, named targets, weight animation), sparse morph
targets as other exporters write them, and one-line errors for files that are not rigs."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.facemesh import canonical_face
from talkmesh_jax.formats.gltf import (
    read_rig,
    read_weight_animation,
    write_rig,
    write_weight_animation,
)
from talkmesh_jax.rig.builtin_rig import TARGET_NAMES, builtin_rig, write_builtin_rig


def test_builtin_rig_round_trips_through_glb(tmp_path) -> None:
    path = tmp_path / "face.glb"
    write_builtin_rig(path)
    assert path.read_bytes()[:4] == b"glTF"  # a binary glTF container
    rig = read_rig(path)
    neutral, targets = builtin_rig()
    assert rig.names == list(TARGET_NAMES) and rig.node == 0
    np.testing.assert_allclose(rig.neutral, neutral / 100, atol=1e-7)
    np.testing.assert_allclose(rig.targets, np.stack(list(targets.values())) / 100, atol=1e-7)
    weights = np.random.default_rng(0).uniform(0, 1, (50, len(TARGET_NAMES))).astype(np.float32)
    animated = write_weight_animation(path, tmp_path / "out.glb", weights, fps=25)
    times, read = read_weight_animation(animated)
    np.testing.assert_allclose(times, np.arange(50) / 25, atol=1e-7)
    np.testing.assert_array_equal(read, weights)
    assert read_rig(animated).names == list(TARGET_NAMES)  # the rig itself is unchanged


def write_sparse_rig(folder):
    """folder/sparse.glb: the canonical face (m) with one target, jawOpen, stored sparse (three
    vertices moved); returns its path."""
    from pygltflib import (
        GLTF2,
        Accessor,
        AccessorSparseIndices,
        AccessorSparseValues,
        BufferView,
        Sparse,
    )

    path = folder / "dense.glb"
    face = canonical_face()
    neutral = face["vertices"] / 100
    delta = sparse_delta(len(neutral))
    write_rig(path, neutral, face["triangles"], {"jawOpen": delta})
    gltf = GLTF2().load(str(path))
    blob = bytearray(gltf.binary_blob())
    views = []
    for array in (SPARSE_MOVED.astype(np.uint32), delta[SPARSE_MOVED].astype(np.float32)):
        views.append(len(gltf.bufferViews))
        gltf.bufferViews.append(BufferView(buffer=0, byteOffset=len(blob), byteLength=array.nbytes))
        blob.extend(array.tobytes())
    gltf.accessors.append(
        Accessor(
            componentType=5126,
            count=len(neutral),
            type="VEC3",
            sparse=Sparse(
                count=3,
                indices=AccessorSparseIndices(bufferView=views[0], componentType=5125),
                values=AccessorSparseValues(bufferView=views[1]),
            ),
        )
    )
    gltf.meshes[0].primitives[0].targets = [{"POSITION": len(gltf.accessors) - 1}]
    gltf.buffers[0].byteLength = len(blob)
    gltf.set_binary_blob(bytes(blob))
    gltf.save_binary(str(folder / "sparse.glb"))
    return folder / "sparse.glb"


SPARSE_MOVED = np.array([3, 17, 200])


def sparse_delta(count: int) -> np.ndarray:
    """[count, 3] m: the sparse target, three vertices moved."""
    delta = np.zeros((count, 3))
    delta[SPARSE_MOVED] = [[0.01, 0, 0], [0, 0.02, 0], [0, 0, -0.03]]
    return delta


def test_sparse_morph_targets_are_read(tmp_path) -> None:
    """A target stored sparse (only the vertices it moves), as many exporters do."""
    rig = read_rig(write_sparse_rig(tmp_path))
    np.testing.assert_allclose(rig.targets[0], sparse_delta(len(rig.neutral)), atol=1e-7)


def rig_path(folder):
    path = folder / "face.glb"
    write_builtin_rig(path)
    return path


def test_files_that_are_not_rigs_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(TalkmeshError, match="no such rig file"):
        read_rig(tmp_path / "missing.glb")
    junk = tmp_path / "junk.glb"
    junk.write_bytes(b"not a gltf at all")
    with pytest.raises(TalkmeshError, match="junk.glb: not a readable glTF"):
        read_rig(junk)
    plain = tmp_path / "plain.glb"
    face = canonical_face()
    write_rig(plain, face["vertices"], face["triangles"], {})
    with pytest.raises(TalkmeshError, match="no mesh with morph targets"):
        read_rig(plain)
    with pytest.raises(TalkmeshError, match="the rig has 15 targets"):
        write_weight_animation(rig_path(tmp_path), tmp_path / "x.glb", np.zeros((3, 2)), 25)
    assert not (tmp_path / "x.glb").exists()
