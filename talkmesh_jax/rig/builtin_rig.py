"""A test rig of our own: MediaPipe's canonical face with ARKit-named shape targets.

Vertices: the 468 canonical-face points plus 10 iris points ([478, 3] cm, the same face `talkmesh
synth` animates), so landmark i is rig vertex i. Each target is a displacement field [478, 3] (cm
at weight 1) built from the synthetic face's controls (`data/synth.py`: jaw, lip spread, blink,
brow) split by side where ARKit names a side, plus lip closure and protrusion fields made here.
The weights → landmarks → solve → weights round trip (`tests/rig/`) and `talkmesh bench
retarget` use it; a trained run can drive it like any rig.
"""

from __future__ import annotations

import numpy as np

from talkmesh_jax.data.synth import face_model
from talkmesh_jax.facemesh import lip_rings

MOUTH_TARGETS = (
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
)
UPPER_TARGETS = (
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "browInnerUp",
    "browDownLeft",
    "browDownRight",
    "browOuterUpLeft",
    "browOuterUpRight",
)
TARGET_NAMES = MOUTH_TARGETS + UPPER_TARGETS


def _gaussian(points: np.ndarray, centre: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((points[:, :2] - centre[:2]) ** 2).sum(1) / (2 * sigma**2))


def builtin_rig() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(neutral [478, 3] float32 cm, {ARKit name: displacement [478, 3] float32 cm at weight 1})
    in TARGET_NAMES order. "Left" is the face's own left (+x in the canonical face, the viewer's
    right), as ARKit names it."""
    face = face_model()
    base = face["base"]
    x = base[:, 0]
    left = np.where(np.abs(x) < 1e-6, 0.5, (x > 0).astype(np.float64))[:, None]  # midline: half
    right = 1.0 - left
    outer, inner = lip_rings()
    mouth = base[inner].mean(0)
    upper_lip = np.zeros(len(base), bool)
    upper_lip[[i for i in outer + inner if base[i, 1] > mouth[1]]] = True
    near_lips = _gaussian(base, mouth, 1.2)
    close = np.zeros_like(base)  # lips meet over an open jaw: the upper lip comes down
    close[:, 1] = np.where(upper_lip, -0.35, 0.35) * near_lips
    pucker = np.zeros_like(base)  # lips forward, corners in
    pucker[:, 2] = 0.5 * near_lips
    pucker[:, 0] = -0.4 * np.sign(base[:, 0] - mouth[0]) * _gaussian(base, mouth, 1.8)
    funnel = pucker * [0.3, 0.0, 1.0] + face["jaw"] * 0.25 * near_lips[:, None]
    smile = face["spread"] + np.array([0.0, 0.5, 0.0]) * np.abs(face["spread"][:, :1])
    stretch = face["spread"] * [1.0, 0.0, 0.0] + face["jaw"] * [0.0, 0.2, 0.0]
    brows = base[face["brow"][:, 1] > 0.25]  # the points the brow control lifts most
    middle = np.array([0.0, brows[:, 1].mean(), 0.0])
    brow_inner = face["brow"] * _gaussian(base, middle, 2.0)[:, None]
    brow_down = -0.6 * face["brow"]  # down and in, towards the nose: a frown
    brow_down[:, 0] = -0.3 * np.sign(base[:, 0]) * np.abs(face["brow"][:, 1])
    targets = {
        "jawOpen": face["jaw"],
        "mouthClose": close,
        "mouthFunnel": funnel,
        "mouthPucker": pucker,
        "mouthSmileLeft": smile * left,
        "mouthSmileRight": smile * right,
        "mouthStretchLeft": stretch * left,
        "mouthStretchRight": stretch * right,
        "eyeBlinkLeft": face["blink"] * left,
        "eyeBlinkRight": face["blink"] * right,
        "browInnerUp": brow_inner,
        "browDownLeft": brow_down * left,
        "browDownRight": brow_down * right,
        "browOuterUpLeft": (face["brow"] - brow_inner) * left,
        "browOuterUpRight": (face["brow"] - brow_inner) * right,
    }
    return base.astype(np.float32), {n: targets[n].astype(np.float32) for n in TARGET_NAMES}


def write_builtin_rig(path) -> None:
    """The built-in rig as a `.glb` (glTF's metres: cm / 100; the canonical face's triangles,
    its 10 iris points unconnected), e.g. for `talkmesh retarget --rig`."""
    from talkmesh_jax.facemesh import canonical_face
    from talkmesh_jax.formats.gltf import write_rig

    neutral, targets = builtin_rig()
    triangles = canonical_face()["triangles"]
    write_rig(path, neutral / 100.0, triangles, {n: t / 100.0 for n, t in targets.items()})


def write_builtin_obj_rig(path) -> tuple:
    """The built-in rig as OBJ files (cm): the neutral at `path` (.obj) and one whole-head OBJ
    per target in `<stem>_targets/` beside it, as `talkmesh retarget --rig X.obj --targets DIR`
    reads them; each written atomically. Returns (neutral path, targets folder)."""
    from pathlib import Path

    from talkmesh_jax.facemesh import canonical_face
    from talkmesh_jax.fileio import atomic_path
    from talkmesh_jax.wavefront import write_obj

    path = Path(path)
    folder = path.with_name(f"{path.stem}_targets")
    folder.mkdir(parents=True, exist_ok=True)
    neutral, targets = builtin_rig()
    triangles = canonical_face()["triangles"]
    for name, delta in targets.items():
        with atomic_path(folder / f"{name}.obj") as tmp:
            write_obj(tmp, neutral + delta, triangles)
    with atomic_path(path) as tmp:
        write_obj(tmp, neutral, triangles)
    return path, folder
