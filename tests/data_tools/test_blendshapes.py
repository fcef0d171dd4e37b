"""Blendshapes from `talkmesh extract`: a real face photo with its mouth opened raises jawOpen.

Grace Hopper's still face, then the same face with the region below the lips slid down by 18 and
30 pixels (an opened mouth, `videos.open_mouth`), then blank frames. Measured here: jawOpen 0.017
closed, 0.07 at 18 px, 0.21 at 30 px.
"""

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from tests.data_tools.videos import (
    BACKGROUND,
    HEIGHT,
    WIDTH,
    face_crop,
    open_mouth,
    place,
    write_video,
)

JAW_OPEN = BLENDSHAPE_NAMES.index("jawOpen")
SEGMENT = 10  # frames of each kind


def _still_face() -> np.ndarray:
    frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    frame[:] = BACKGROUND
    place(frame, face_crop(), 320, 180, 0.0, 1.0)
    return frame


def _image_landmarks(frame: np.ndarray) -> np.ndarray:
    import mediapipe as mp

    from talkmesh_jax.data_tools.landmarks import create_landmarker

    with create_landmarker() as landmarker:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
        face = landmarker.detect_for_video(image, 0).face_landmarks[0]
    return np.array([(p.x, p.y, p.z) for p in face], np.float32)


@pytest.fixture(scope="module")
def opened(tmp_path_factory) -> Dataset:
    root = tmp_path_factory.mktemp("mouth")
    closed = _still_face()
    landmarks = _image_landmarks(closed)
    blank = np.full_like(closed, BACKGROUND)
    segments = [closed, open_mouth(closed, landmarks, 18), open_mouth(closed, landmarks, 30)]
    frames = np.stack([f for f in [*segments, blank] for _ in range(SEGMENT)])
    (root / "in").mkdir()
    write_video(root / "in" / "mouth.mp4", frames)
    assert main(["extract", str(root / "in"), str(root / "data"), "--no-progress"]) == 0
    return Dataset(root / "data")


def test_opening_the_mouth_raises_jaw_open(opened):
    blendshapes = opened.load_blendshapes("mouth")
    _, landmarks, valid = opened.load_clip("mouth")
    assert blendshapes.shape == (4 * SEGMENT, 52) and valid[: 3 * SEGMENT].all()
    jaw = [blendshapes[i * SEGMENT : (i + 1) * SEGMENT, JAW_OPEN].mean() for i in range(3)]
    assert jaw[0] < 0.05 and jaw[2] > 0.12 and jaw[2] > 4 * jaw[0]
    assert jaw[0] < jaw[1] < jaw[2]
    # The metric landmarks agree: the inner lips (13 upper, 14 lower) part.
    gap = landmarks[:, 13, 1] - landmarks[:, 14, 1]
    assert gap[2 * SEGMENT : 3 * SEGMENT].mean() > gap[:SEGMENT].mean() + 0.3  # cm


def test_blank_frames_are_invalid_and_zero(opened):
    _, _, valid = opened.load_clip("mouth")
    blank = slice(3 * SEGMENT, 4 * SEGMENT)
    assert not valid[blank].any()
    assert not opened.load_blendshapes("mouth")[blank].any()
    assert not opened.load_head_pose("mouth")[blank].any()
