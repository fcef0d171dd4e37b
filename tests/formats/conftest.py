"""Frames that move like a talking face, and the FaceInfo of MediaPipe's landmarks."""

import numpy as np
import pytest

from talkmesh_jax.facemesh import BLENDSHAPE_NAMES, canonical_face, region_indices
from talkmesh_jax.formats import FaceInfo
from talkmesh_jax.media import write_wav

FRAMES = 50  # 2 s at 25 fps


@pytest.fixture(scope="session")
def talking_face():
    """{"landmarks": [50, 468, 3] float32 cm (the lips open and close), "blendshapes": [50, 52]}."""
    vertices = canonical_face()["vertices"]
    lips = np.asarray(region_indices()["lips"])
    below = lips[vertices[lips, 1] < np.median(vertices[lips, 1])]
    opening = 0.6 * np.sin(np.linspace(0, 2 * np.pi, FRAMES)) ** 2  # cm
    landmarks = np.repeat(vertices[None], FRAMES, 0).copy()
    landmarks[:, below, 1] -= opening[:, None]
    blendshapes = np.zeros((FRAMES, len(BLENDSHAPE_NAMES)), np.float32)
    blendshapes[:, BLENDSHAPE_NAMES.index("jawOpen")] = opening / 0.6
    return {"landmarks": landmarks.astype(np.float32), "blendshapes": blendshapes}


@pytest.fixture
def face_info(tmp_path):
    audio = tmp_path / "speech.wav"
    t = np.arange(FRAMES * 640) / 16000
    write_wav(audio, 0.3 * np.sin(2 * np.pi * 220 * t))
    triangles = canonical_face()["triangles"]
    return FaceInfo(468, triangles, BLENDSHAPE_NAMES, audio, title="speech.wav")


def write_all(writer, frames: dict, blocks=(7, 20, 23)) -> list:
    """Feeds `frames` in blocks of uneven sizes, then finishes."""
    start = 0
    for size in blocks:
        writer.write({k: v[start : start + size] for k, v in frames.items()})
        start += size
    assert start == FRAMES
    return writer.finish()
