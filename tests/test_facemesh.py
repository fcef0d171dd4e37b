"""Region index sets come from MediaPipe's own definitions; shipped reference data loads."""

import numpy as np
from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as fmc

from talkmesh_jax.facemesh import (
    canonical_face,
    inner_lip_area,
    lip_rings,
    original_reference_face,
    region_indices,
    resource_path,
)


def test_lip_sets_are_mediapipes():
    lips = sorted({i for e in fmc.FACE_LANDMARKS_LIPS for i in (e.start, e.end)})
    assert region_indices()["lips"] == lips and len(lips) == 40
    outer, inner = lip_rings()
    assert sorted(outer + inner) == lips
    assert {13, 14, 78, 308} <= set(inner) and {0, 17, 61, 291} <= set(outer)


def test_upper_face_lies_above_the_mouth():
    vertices = canonical_face()["vertices"]
    upper = region_indices()["upper_face"]
    eyebrows = {
        i
        for e in fmc.FACE_LANDMARKS_LEFT_EYEBROW + fmc.FACE_LANDMARKS_RIGHT_EYEBROW
        for i in (e.start, e.end)
    }
    assert eyebrows <= set(upper)
    assert vertices[upper, 1].min() > vertices[region_indices()["lips"], 1].max()


def test_original_close_mouth_face_has_the_smallest_inner_lip_area():
    """Our inner-lip area reproduces the original's definition: its close-mouth face (mean of the
    250 smallest-area frames) is nearly closed, its mean face is open."""
    closed = inner_lip_area(original_reference_face("close_mouth_face"))
    mean = inner_lip_area(original_reference_face("mean_face"))
    assert closed < 0.05 < 1.0 < mean
    assert original_reference_face("mean_face").shape == (468, 3)
    assert canonical_face()["procrustes_weights"].astype(bool).sum() == 33
    assert np.isfinite(canonical_face()["vertices"]).all()


def test_face_landmarker_bundle_ships_with_the_package():
    """The Tasks model bundle is a package resource (extraction works offline), byte-identical to
    MediaPipe's; the blendshape names are MediaPipe's 52 in its order."""
    import hashlib
    import zipfile

    from talkmesh_jax.data_tools.landmarks import model_bundle
    from talkmesh_jax.facemesh import BLENDSHAPE_NAMES, MOUTH_BLENDSHAPES

    bundle = model_bundle()
    digest = hashlib.sha256(bundle).hexdigest()
    assert digest == "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
    with zipfile.ZipFile(resource_path("face_landmarker.task")) as archive:
        assert "face_blendshapes.tflite" in archive.namelist()
    assert len(BLENDSHAPE_NAMES) == 52 and BLENDSHAPE_NAMES[0] == "_neutral"
    assert BLENDSHAPE_NAMES.index("jawOpen") == 25 and "mouthSmileLeft" in MOUTH_BLENDSHAPES
