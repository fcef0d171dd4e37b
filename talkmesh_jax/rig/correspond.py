"""Which rig parts a run's outputs drive: ARKit names to rig targets, landmarks to rig vertices.

By name: a rig's target names are matched to the 52 ARKit/MediaPipe names whatever their case and
separators, with the usual prefixes (`blendShape1.`, `ARKit_`, `bs_` …) and side suffixes
(`_L`/`_R`, `Left`/`Right`) allowed; what matches nothing is listed, never silently dropped.

By position: a map says where each landmark sits on the rig — a vertex, or a point of a triangle
(its three vertices and barycentric weights) as `rig/fit_map.py` computes it from a few anchors —
in JSON `{"landmark_to_surface": [entry per landmark]}` (null, a vertex, or [[a, b, c], [wa, wb,
wc]]) or the plain `{"landmark_to_vertex": [v_0, …]}` (−1 for none). The run's rest face is
brought onto the rig's neutral at those points by a similarity transform (Umeyama: scale,
rotation, translation), so landmark displacements (cm) become rig displacements (the rig's units).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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


@dataclass
class SurfaceMap:
    """Where each of L landmarks sits on a rig: corners [L, 3] int64 rig vertices (−1: the
    landmark has no point on the rig) and barycentric weights [L, 3] float64 (a vertex is
    (v, v, v) or (v, −1, −1) with weights (1, 0, 0))."""

    corners: np.ndarray
    weights: np.ndarray

    @classmethod
    def of_vertices(cls, vertex_map: np.ndarray) -> SurfaceMap:
        """From [L] rig vertex per landmark (−1: none)."""
        vertex_map = np.asarray(vertex_map, np.int64)
        corners = np.repeat(vertex_map[:, None], 3, 1)
        weights = np.zeros(corners.shape)
        weights[:, 0] = vertex_map >= 0
        return cls(corners, weights)

    @property
    def mapped(self) -> np.ndarray:
        """[L] bool: landmarks with a point on the rig."""
        return self.corners[:, 0] >= 0

    def gather(self, values: np.ndarray) -> np.ndarray:
        """values [..., V, 3] per rig vertex → [..., M, 3] at the M mapped landmarks' points."""
        mapped = self.mapped
        corners, weights = self.corners[mapped], self.weights[mapped]
        picked = values[..., np.maximum(corners, 0), :]  # [..., M, 3, 3]
        return np.einsum("mk,...mkd->...md", weights, picked).astype(np.float32)

    def to_json(self) -> list:
        """One entry per landmark: null, a vertex, or [[a, b, c], [wa, wb, wc]]."""
        out = []
        for corners, weights in zip(self.corners.tolist(), self.weights.tolist(), strict=True):
            if corners[0] < 0:
                out.append(None)
            elif weights[1] == weights[2] == 0:
                out.append(corners[0])
            else:
                out.append([corners, [round(w, 6) for w in weights]])
        return out


def read_surface_map(path: str | Path, num_landmarks: int, num_vertices: int) -> SurfaceMap:
    """A map file: JSON {"landmark_to_surface": [entry per landmark]} (entries: null, a vertex,
    or [[a, b, c], [wa, wb, wc]], as `talkmesh rig map` writes) or {"landmark_to_vertex": [vertex
    or −1 per landmark]}; a clear error naming the file for anything else."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if "landmark_to_surface" in data:
            surface = _surface_entries(data["landmark_to_surface"])
        else:
            surface = SurfaceMap.of_vertices(np.asarray(data["landmark_to_vertex"], np.int64))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        raise TalkmeshError(
            f"{path}: not a landmark map ({type(err).__name__}; expected JSON "
            '{"landmark_to_surface": [...]} or {"landmark_to_vertex": [...]})'
        ) from None
    if len(surface.corners) != num_landmarks:
        raise TalkmeshError(
            f"{path}: maps {len(surface.corners)} landmarks, the run has {num_landmarks}"
        )
    used = surface.corners[surface.weights > 0]
    if used.size and (used.max() >= num_vertices or used.min() < 0):
        raise TalkmeshError(f"{path}: vertex indices must be in [0, {num_vertices - 1}]")
    if surface.corners[:, 0].min() < -1:
        raise TalkmeshError(f"{path}: a landmark without a vertex is -1 or null")
    if surface.mapped.sum() < 3:
        raise TalkmeshError(f"{path}: fewer than 3 landmarks have a point on the rig")
    return surface


def _surface_entries(entries: list) -> SurfaceMap:
    corners = np.full((len(entries), 3), -1, np.int64)
    weights = np.zeros((len(entries), 3))
    for i, entry in enumerate(entries):
        if entry is None or (isinstance(entry, int) and entry < 0):
            continue
        if isinstance(entry, int):
            corners[i], weights[i, 0] = entry, 1.0
        else:
            corners[i], weights[i] = entry[0], entry[1]
            if abs(weights[i].sum() - 1) > 1e-3 or (weights[i] < -1e-6).any():
                raise ValueError(f"landmark {i}: weights must be ≥ 0 and sum to 1")
    return SurfaceMap(corners, weights)


def write_surface_map(path: str | Path, surface: SurfaceMap, about: dict) -> None:
    """The map as JSON (atomically), one landmark per line so it can be edited, with `about`
    (how it was made) first."""
    from talkmesh_jax.fileio import atomic_path

    rows = ",\n".join(f"    {json.dumps(entry)}" for entry in surface.to_json())
    text = f'{{\n  "about": {json.dumps(about)},\n  "landmark_to_surface": [\n{rows}\n  ]\n}}\n'
    with atomic_path(path) as tmp:
        tmp.write_text(text)


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
