"""Which rig parts a run's outputs drive: ARKit names to rig targets, landmarks to rig vertices.

By name: a rig's target names are matched to the 52 ARKit/MediaPipe names whatever their case and
separators, with the usual prefixes (`blendShape1.`, `ARKit_`, `bs_` …) and side suffixes
(`_L`/`_R`, `Left`/`Right`) allowed; what matches nothing is listed, never silently dropped.

By vertex: a map file (JSON `{"landmark_to_vertex": [v_0, …, v_{V−1}]}`, −1 for a landmark with
no vertex) says which rig vertex carries each landmark; the run's rest face is brought onto the
rig's neutral at those vertices by a similarity transform (Umeyama: scale, rotation,
translation), so landmark displacements (cm) become rig displacements (the rig's units).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError

PREFIXES = ("blendshape1", "blendshapes", "blendshape", "arkit", "shapekey", "bs", "morph")


def _plain(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.split(".")[-1].lower())


def _variants(arkit: str) -> set[str]:
    plain = _plain(arkit)
    out = {plain}
    for side, short in (("left", "l"), ("right", "r")):
        if plain.endswith(side):
            out.add(plain[: -len(side)] + short)
    return out


def match_names(rig_names: list[str], arkit_names: list[str]) -> dict:
    """{"pairs": [(rig index, ARKit index)], "unmatched_rig": [names], "unmatched_arkit":
    [names]}."""
    lookup = {v: i for i, name in enumerate(arkit_names) for v in _variants(name)}
    pairs, unmatched = [], []
    for r, name in enumerate(rig_names):
        plain = _plain(name)
        candidates = [plain] + [plain[len(p) :] for p in PREFIXES if plain.startswith(p)]
        found = next((lookup[c] for c in candidates if c in lookup), None)
        if found is None:
            unmatched.append(name)
        else:
            pairs.append((r, found))
    used = {a for _, a in pairs}
    missing = [n for i, n in enumerate(arkit_names) if i not in used and n != "_neutral"]
    return {"pairs": pairs, "unmatched_rig": unmatched, "unmatched_arkit": missing}


def read_vertex_map(path: str | Path, num_landmarks: int, num_vertices: int) -> np.ndarray:
    """[num_landmarks] int64 rig vertex per landmark (−1: none) from a map file."""
    path = Path(path)
    try:
        values = json.loads(path.read_text())["landmark_to_vertex"]
        mapping = np.asarray(values, np.int64)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TalkmeshError(
            f"{path}: not a vertex map ({type(err).__name__}; expected JSON "
            '{"landmark_to_vertex": [...]})'
        ) from None
    if mapping.shape != (num_landmarks,):
        raise TalkmeshError(f"{path}: maps {mapping.size} landmarks, the run has {num_landmarks}")
    if mapping.max() >= num_vertices or mapping.min() < -1:
        raise TalkmeshError(f"{path}: vertex indices must be in [-1, {num_vertices - 1}]")
    if (mapping >= 0).sum() < 3:
        raise TalkmeshError(f"{path}: fewer than 3 landmarks have a vertex")
    return mapping


def similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, R [3, 3], t [3]) minimising ‖s R x + t − y‖² over points x of `source` [N, 3] and y
    of `target` [N, 3] (Umeyama 1991; R a proper rotation)."""
    x, y = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    cov = yc.T @ xc / len(x)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    sign[2, 2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign) / max((xc**2).sum() / len(x), 1e-12))
    return scale, rotation, my - scale * rotation @ mx
