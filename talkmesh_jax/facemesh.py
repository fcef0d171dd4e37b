"""MediaPipe FaceMesh topology: the canonical face, region index sets, reference faces.

Landmark layout used everywhere in the project: `[..., V, 3]` with V = 468 (face) or 478 (face +
10 iris points, `refine_landmarks=True`). Metric landmarks are in the canonical face's frame:
centimetres, x to the subject's left as seen by the camera, y up, z toward the camera.

Region index sets come from MediaPipe's own definitions (`FaceLandmarksConnections`), so numbers
computed over them can be reproduced by anyone with MediaPipe.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np

NUM_FACE_LANDMARKS = 468
NUM_REFINED_LANDMARKS = 478  # + 5 points per iris
COORDINATE_FRAMES = ("metric_cm", "image_normalised")

# MediaPipe Face Landmarker's 52 blendshape coefficients (Blendshape V2), in its output order:
# ARKit's names plus `_neutral` first. Per frame in [0, 1]; stored as [T, 52] float32.
BLENDSHAPE_NAMES = (
    "_neutral browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight cheekPuff "
    "cheekSquintLeft cheekSquintRight eyeBlinkLeft eyeBlinkRight eyeLookDownLeft eyeLookDownRight "
    "eyeLookInLeft eyeLookInRight eyeLookOutLeft eyeLookOutRight eyeLookUpLeft eyeLookUpRight "
    "eyeSquintLeft eyeSquintRight eyeWideLeft eyeWideRight jawForward jawLeft jawOpen jawRight "
    "mouthClose mouthDimpleLeft mouthDimpleRight mouthFrownLeft mouthFrownRight mouthFunnel "
    "mouthLeft mouthLowerDownLeft mouthLowerDownRight mouthPressLeft mouthPressRight mouthPucker "
    "mouthRight mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthSmileLeft "
    "mouthSmileRight mouthStretchLeft mouthStretchRight mouthUpperUpLeft mouthUpperUpRight "
    "noseSneerLeft noseSneerRight"
).split()
NUM_BLENDSHAPES = len(BLENDSHAPE_NAMES)  # 52
# The coefficients that speech drives (jaw and mouth), for evaluation.
MOUTH_BLENDSHAPES = tuple(n for n in BLENDSHAPE_NAMES if n.startswith(("jaw", "mouth")))


def resource_path(name: str):
    """Path (a Traversable) of a file shipped in `talkmesh_jax/resources/`."""
    return resources.files("talkmesh_jax") / "resources" / name


@cache
def canonical_face() -> dict[str, np.ndarray]:
    """MediaPipe's canonical face: vertices [468, 3] float32 cm, uv [468, 2], triangles [898, 3]
    int32, procrustes_weights [468] float32 (33 non-zero)."""
    with resource_path("canonical_face.npz").open("rb") as f, np.load(f) as data:
        return {key: data[key] for key in data.files}


def original_reference_face(name: str) -> np.ndarray:
    """The original project's `mean_face` or `close_mouth_face`: [468, 3] float32, metric cm."""
    if name not in ("mean_face", "close_mouth_face"):
        raise ValueError(f"unknown reference face {name!r} (mean_face or close_mouth_face)")
    with resource_path(f"{name}.npy").open("rb") as f:
        return np.load(f).T.astype(np.float32)


@cache
def _connections() -> dict[str, frozenset[tuple[int, int]]]:
    """MediaPipe's named edge sets (Tasks API `FaceLandmarksConnections`; the same edges as the
    legacy `face_mesh_connections`)."""
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as fmc

    named = {
        "lips": fmc.FACE_LANDMARKS_LIPS,
        "left_eye": fmc.FACE_LANDMARKS_LEFT_EYE,
        "right_eye": fmc.FACE_LANDMARKS_RIGHT_EYE,
        "left_eyebrow": fmc.FACE_LANDMARKS_LEFT_EYEBROW,
        "right_eyebrow": fmc.FACE_LANDMARKS_RIGHT_EYEBROW,
        "face_oval": fmc.FACE_LANDMARKS_FACE_OVAL,
        "tesselation": fmc.FACE_LANDMARKS_TESSELATION,
    }
    return {name: frozenset((c.start, c.end) for c in edges) for name, edges in named.items()}


def _rings(edges: frozenset[tuple[int, int]]) -> list[list[int]]:
    """Splits a set of edges that forms disjoint closed loops into ordered vertex cycles."""
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    if any(len(n) != 2 for n in neighbours.values()):
        raise ValueError("edges do not form closed loops")
    seen: set[int] = set()
    rings = []
    for start in sorted(neighbours):
        if start in seen:
            continue
        ring, previous, current = [start], None, start
        seen.add(start)
        while True:
            a, b = neighbours[current]
            nxt = b if a == previous else a
            if nxt == start:
                break
            ring.append(nxt)
            seen.add(nxt)
            previous, current = current, nxt
        rings.append(ring)
    return rings


def polygon_area_xy(points: np.ndarray, ring: list[int] | np.ndarray) -> np.ndarray:
    """Area (shoelace, in the x–y plane) of the polygon `ring` in `points` [..., V, 3] → [...]."""
    x = points[..., ring, 0]
    y = points[..., ring, 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1))


@cache
def lip_rings() -> tuple[list[int], list[int]]:
    """(outer, inner) lip contours as ordered vertex cycles (20 vertices each)."""
    rings = _rings(_connections()["lips"])
    if len(rings) != 2:
        raise ValueError(f"MediaPipe's lips are {len(rings)} loops, expected 2")
    vertices = canonical_face()["vertices"]
    rings.sort(key=lambda ring: -float(polygon_area_xy(vertices, ring)))
    return rings[0], rings[1]


def _indices(*names: str) -> np.ndarray:
    connections = _connections()
    return np.array(sorted({i for name in names for edge in connections[name] for i in edge}))


@cache
def region_indices() -> dict[str, list[int]]:
    """Named landmark index sets (sorted, 0-based, all < 468) from MediaPipe's definitions.

    lips: outer + inner lip contours (40), the original project's lip set; upper_face: eyes,
    eyebrows and the forehead part of the face oval (above the eyes), for FDD; eyes: eye contours
    (eyelids); face: all 468.
    """
    vertices = canonical_face()["vertices"]
    eyes = _indices("left_eye", "right_eye")
    oval = _indices("face_oval")
    forehead = oval[vertices[oval, 1] > vertices[eyes, 1].max()]
    upper = np.union1d(_indices("left_eye", "right_eye", "left_eyebrow", "right_eyebrow"), forehead)
    return {
        "lips": _indices("lips").tolist(),
        "upper_face": upper.tolist(),
        "eyes": eyes.tolist(),
        "face": list(range(NUM_FACE_LANDMARKS)),
    }


def tesselation_edges() -> np.ndarray:
    """MediaPipe's face tessellation as [E, 2] int32 vertex pairs (for drawing)."""
    return np.array(sorted(_connections()["tesselation"]), np.int32)


def inner_lip_area(landmarks: np.ndarray) -> np.ndarray:
    """Area enclosed by the inner lip contour, in the x–y plane: [..., V, 3] cm → [...] cm²."""
    return polygon_area_xy(landmarks, lip_rings()[1])
