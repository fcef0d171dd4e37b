"""OBJ files: the corner forms, negative indices and polygons readers meet, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.wavefront import read_obj, write_obj


def test_obj_corner_forms_polygons_and_negative_indices(tmp_path) -> None:
    path = tmp_path / "quad.obj"
    path.write_text(
        "# a quad and a triangle\no thing\n"
        "v 0 0 0\nv 1 0 0\nv 1 1 0 0.5 0.5 0.5\nv 0 1 0\nvt 0 0\nvn 0 0 1\n"
        "usemtl skin\nf 1/1/1 2/1/1 3//1 4\n"
        "v 2 2 2\nf -1 -2 -3\n"
    )
    vertices, triangles = read_obj(path)
    np.testing.assert_array_equal(vertices[2], [1, 1, 0])  # colour components ignored
    assert triangles.tolist() == [[0, 1, 2], [0, 2, 3], [4, 3, 2]]  # a fan; −1 = the last one


def test_obj_write_read_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(0)
    vertices = rng.normal(size=(6, 3)).astype(np.float32)
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    write_obj(tmp_path / "m.obj", vertices, triangles)
    read_vertices, read_triangles = read_obj(tmp_path / "m.obj")
    np.testing.assert_allclose(read_vertices, vertices, atol=1e-6)
    assert read_triangles.tolist() == triangles.tolist()


@pytest.mark.parametrize(
    "text, message",
    [
        ("v 0 0\n", r"bad.obj:1: not a valid OBJ line: 'v 0 0'"),
        ("v 0 0 0\nv 1 0 0\nf 1 2\n", r"bad.obj:3: not a valid OBJ line"),
        ("v 0 0 0\nf 1 2 9\n", "bad.obj: a face uses a vertex the file does not have"),
        ("f 1 2 3\n", "bad.obj: a face uses a vertex|bad.obj: no vertices"),
        ("# nothing\n", r"bad.obj: no vertices \(`v` lines\)"),
    ],
)
def test_obj_errors_name_file_and_line(tmp_path, text, message) -> None:
    path = tmp_path / "bad.obj"
    path.write_text(text)
    with pytest.raises(TalkmeshError, match=message):
        read_obj(path)
    with pytest.raises(TalkmeshError, match="missing.obj: cannot read"):
        read_obj(tmp_path / "missing.obj")
