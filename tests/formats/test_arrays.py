"""npy, json and csv round trips: what is read back equals what was written."""

import csv
import json

import numpy as np

from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from talkmesh_jax.formats.arrays import (
    LIVE_LINK_FACE_COLUMNS,
    CsvWriter,
    JsonWriter,
    NpyWriter,
    read_npy_header,
    timecode,
)
from tests.formats.conftest import FRAMES, write_all


def test_npy_written_in_blocks_reads_back_exactly(tmp_path, talking_face, face_info):
    paths = write_all(NpyWriter(tmp_path / "out.npy", face_info), talking_face)
    assert paths == [tmp_path / "out.npy", tmp_path / "out.blendshapes.npy"]
    np.testing.assert_array_equal(np.load(paths[0]), talking_face["landmarks"])
    np.testing.assert_array_equal(np.load(paths[1]), talking_face["blendshapes"])
    assert read_npy_header(paths[0])["shape"] == (FRAMES, 468, 3)
    assert np.load(paths[0], mmap_mode="r").shape == (FRAMES, 468, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out.npy", "out.blendshapes.npy", "speech.wav"]
    )


def test_discard_leaves_nothing(tmp_path, talking_face, face_info):
    writers = [cls(tmp_path / f"out.{n}", face_info) for cls, n in
               [(NpyWriter, "npy"), (JsonWriter, "json"), (CsvWriter, "csv")]]  # fmt: skip
    for writer in writers:
        writer.write({k: v[:5] for k, v in talking_face.items()})
        writer.discard()
    assert [p.name for p in tmp_path.iterdir()] == ["speech.wav"]


def test_json_reads_back(tmp_path, talking_face, face_info):
    paths = write_all(JsonWriter(tmp_path / "out.json", face_info), talking_face)
    landmarks = json.loads(paths[0].read_text())
    assert landmarks["fps"] == 25 and landmarks["num_landmarks"] == 468
    assert landmarks["num_frames"] == FRAMES and landmarks["landmark_names"][7] == "lm7"
    np.testing.assert_allclose(landmarks["frames"], talking_face["landmarks"], atol=6e-7)
    curves = json.loads(paths[1].read_text())
    assert curves["names"] == list(BLENDSHAPE_NAMES) and curves["num_frames"] == FRAMES
    np.testing.assert_allclose(curves["frames"], talking_face["blendshapes"], atol=6e-7)


def test_csv_landmarks_and_live_link_face_curves(tmp_path, talking_face, face_info):
    paths = write_all(CsvWriter(tmp_path / "out.csv", face_info), talking_face)
    rows = list(csv.reader(paths[0].open()))
    assert rows[0][:5] == ["frame", "time_s", "lm0_x", "lm0_y", "lm0_z"]
    assert len(rows) == FRAMES + 1 and rows[26][:2] == ["25", "1.000"]
    values = np.asarray([row[2:] for row in rows[1:]], np.float32).reshape(FRAMES, 468, 3)
    np.testing.assert_allclose(values, talking_face["landmarks"], atol=6e-7)

    curves = list(csv.DictReader(paths[1].open()))
    assert list(curves[0])[:3] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft"]
    assert list(curves[0])[2:] == LIVE_LINK_FACE_COLUMNS and len(LIVE_LINK_FACE_COLUMNS) == 61
    assert curves[26]["Timecode"] == "00:00:01:01.000" and curves[0]["BlendShapeCount"] == "61"
    jaw = np.asarray([float(row["JawOpen"]) for row in curves])
    expected = talking_face["blendshapes"][:, BLENDSHAPE_NAMES.index("jawOpen")]
    np.testing.assert_allclose(jaw, expected, atol=6e-7)
    assert {row["TongueOut"] for row in curves} == {"0.000000"}


def test_timecode():
    assert timecode(0, 25) == "00:00:00:00.000"
    assert timecode(25 * 3661 + 24, 25) == "01:01:01:24.000"


def test_outputs_get_ordinary_permissions(tmp_path, talking_face, face_info):
    """Written under a private temporary name, but the final file is readable by others (umask)."""
    import os

    old = os.umask(0o022)
    try:
        (path, _) = write_all(NpyWriter(tmp_path / "out.npy", face_info), talking_face)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
