"""Which rig surface point carries each landmark, computed from a few anchors.

1. Anchors: a few (≥ 3, not on one line) landmark → rig vertex pairs the user reads off the rig
   (nose tip, chin, eye and mouth corners …). A similarity transform (Umeyama: scale, rotation,
   translation) brings the face onto the rig's neutral at those pairs.
2. Refinement (Procrustes, iterated closest points): every landmark's nearest point on the rig's
   surface; the similarity refitted on all landmarks closer than `max_distance`; repeated while
   the mean distance falls (`iterations` at most). The anchors stay in every fit, weighted as
   much as all the other landmarks together, so the face cannot slide off them.
3. The map: for each landmark the triangle (its three vertices) and barycentric weights of its
   nearest surface point, or none when that point is farther than `max_distance` (a fraction of
   the face's size: a rig without that part of the face). Saved as JSON the user can edit (an
   entry may be replaced by a vertex index or `null`), read by `correspond.read_surface_map`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.rig.correspond import SurfaceMap, similarity
from talkmesh_jax.wavefront import read_obj

NEAREST_VERTICES = 12  # triangles around this many nearest vertices are searched per point


def parse_anchors(text: str) -> dict[int, int]:
    """'1=523,152=88,…' → {landmark: rig vertex}."""
    anchors = {}
    for item in text.replace(" ", "").split(","):
        if not item:
            continue
        try:
            landmark, vertex = (int(x) for x in item.split("="))
        except ValueError:
            raise TalkmeshError(
                f"--anchors: {item!r} is not LANDMARK=VERTEX (e.g. 1=523,152=88,33=1200)"
            ) from None
        anchors[landmark] = vertex
    return anchors


def closest_points(
    points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For points [P, 3]: (triangle index [P], barycentric weights [P, 3], distance [P]) of the
    nearest point on the triangles [F, 3] of `vertices` [V, 3], searched among the triangles that
    touch the point's NEAREST_VERTICES nearest vertices."""
    near = _nearest_vertices(points, vertices, min(NEAREST_VERTICES, len(vertices)))
    incident = _incident_triangles(triangles, len(vertices))
    best = np.full(len(points), -1)
    best_w = np.zeros((len(points), 3))
    best_d = np.full(len(points), np.inf)
    for p, candidates in enumerate(near):
        faces = np.unique(np.concatenate([incident[v] for v in candidates]))
        if not len(faces):
            continue
        corners = vertices[triangles[faces]].astype(np.float64)  # [C, 3, 3]
        weights = _closest_on_triangles(points[p].astype(np.float64), corners)
        closest = np.einsum("ck,ckd->cd", weights, corners)
        distance = np.linalg.norm(closest - points[p], axis=1)
        k = int(distance.argmin())
        best[p], best_w[p], best_d[p] = faces[k], weights[k], distance[k]
    if (best < 0).any():
        raise TalkmeshError("the rig's mesh has vertices that belong to no triangle near the face")
    return best, best_w, best_d


def _nearest_vertices(points: np.ndarray, vertices: np.ndarray, count: int) -> np.ndarray:
    out = np.empty((len(points), count), np.int64)
    v = vertices.astype(np.float64)
    for start in range(0, len(points), 64):
        block = points[start : start + 64].astype(np.float64)
        d2 = (block**2).sum(1)[:, None] - 2 * block @ v.T + (v**2).sum(1)[None]
        out[start : start + 64] = np.argpartition(d2, count - 1, axis=1)[:, :count]
    return out


def _incident_triangles(triangles: np.ndarray, num_vertices: int) -> list[np.ndarray]:
    order = np.argsort(triangles.reshape(-1), kind="stable")
    counts = np.bincount(triangles.reshape(-1), minlength=num_vertices)
    return np.split(order // 3, np.cumsum(counts)[:-1])


def _closest_on_triangles(point: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Barycentric weights [C, 3] of the point of each triangle corners [C, 3, 3] nearest to
    `point` [3]: inside the face if its projection falls there, else on the nearest edge."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    ab, ac, ap = b - a, c - a, point - a
    d00, d01, d11 = (ab * ab).sum(1), (ab * ac).sum(1), (ac * ac).sum(1)
    d20, d21 = (ap * ab).sum(1), (ap * ac).sum(1)
    denominator = np.where(np.abs(d00 * d11 - d01**2) < 1e-30, 1e-30, d00 * d11 - d01**2)
    v = (d11 * d20 - d01 * d21) / denominator
    w = (d00 * d21 - d01 * d20) / denominator
    inside = np.stack([1 - v - w, v, w], 1)
    candidates = [inside]
    for i, j in ((0, 1), (1, 2), (2, 0)):  # closest point on each edge
        start, edge = corners[:, i], corners[:, j] - corners[:, i]
        along = np.clip(((point - start) * edge).sum(1) / np.maximum((edge**2).sum(1), 1e-30), 0, 1)
        weights = np.zeros_like(inside)
        weights[:, i], weights[:, j] = 1 - along, along
        candidates.append(weights)
    stacked = np.stack(candidates, 1)  # [C, 4, 3]
    valid = np.ones(stacked.shape[:2], bool)
    valid[:, 0] = (inside >= -1e-9).all(1)
    points = np.einsum("cnk,ckd->cnd", stacked, corners)
    distance = np.where(valid, np.linalg.norm(points - point, axis=2), np.inf)
    return stacked[np.arange(len(corners)), distance.argmin(1)]


def fit_surface_map(
    face: np.ndarray,
    neutral: np.ndarray,
    triangles: np.ndarray,
    anchors: dict[int, int],
    max_distance: float = 0.05,
    iterations: int = 20,
) -> tuple[SurfaceMap, dict]:
    """The map of landmarks `face` [L, 3] onto the rig (neutral [V, 3], triangles [F, 3]) from
    `anchors` {landmark: vertex}; `max_distance` is a fraction of the face's size (the RMS
    distance of its points from their mean, after alignment). Returns (map, report: anchors'
    residual and mean/max distance of mapped points, in the rig's units, and the count left
    unmapped)."""
    _check_anchors(anchors, len(face), len(neutral))
    if len(triangles) == 0:
        raise TalkmeshError("the rig's mesh has no triangles to map landmarks onto")
    landmarks = np.array(list(anchors), np.int64)
    spread = np.linalg.svd(face[landmarks] - face[landmarks].mean(0), compute_uv=False)
    if spread[1] < 1e-3 * spread[0]:
        raise TalkmeshError("--anchors: the anchor landmarks lie on one line; add one off it")
    fixed = neutral[np.array(list(anchors.values()), np.int64)].astype(np.float64)
    face = face.astype(np.float64)
    transform = similarity(face[landmarks], fixed)
    previous = np.inf
    for _ in range(iterations):
        aligned = _apply(transform, face)
        size = float(np.sqrt(((aligned - aligned.mean(0)) ** 2).sum(1).mean()))
        faces, weights, distance = closest_points(aligned, neutral, triangles)
        keep = distance <= max_distance * size
        if distance[keep].mean() >= previous - 1e-9 * size:
            break
        previous = float(distance[keep].mean())
        closest = np.einsum("pk,pkd->pd", weights, neutral[triangles[faces]].astype(np.float64))
        repeat = max(1, int(keep.sum()) // len(landmarks))  # anchors weigh as much as the rest
        source = np.concatenate([face[keep], np.repeat(face[landmarks], repeat, 0)])
        target = np.concatenate([closest[keep], np.repeat(fixed, repeat, 0)])
        transform = similarity(source, target)
    aligned = _apply(transform, face)
    size = float(np.sqrt(((aligned - aligned.mean(0)) ** 2).sum(1).mean()))
    faces, weights, distance = closest_points(aligned, neutral, triangles)
    keep = distance <= max_distance * size
    corners = np.where(keep[:, None], triangles[faces], -1)
    surface = SurfaceMap(corners.astype(np.int64), np.where(keep[:, None], weights, 0.0))
    for landmark, vertex in anchors.items():  # an anchor is the user's word: exactly its vertex
        surface.corners[landmark] = vertex
        surface.weights[landmark] = (1.0, 0.0, 0.0)
    report = {
        "anchors": len(anchors),
        "anchor_residual": float(np.linalg.norm(aligned[landmarks] - fixed, axis=1).mean()),
        "mean_distance": float(distance[keep].mean()) if keep.any() else None,
        "max_distance": float(distance[keep].max()) if keep.any() else None,
        "unmapped": int((~keep).sum()),
        "face_size": size,
        "anchors_given": {str(k): v for k, v in anchors.items()},
    }
    return surface, report


def _apply(transform, points: np.ndarray) -> np.ndarray:
    scale, rotation, shift = transform
    return scale * points @ rotation.T + shift


def _check_anchors(anchors: dict[int, int], num_landmarks: int, num_vertices: int) -> None:
    if len(anchors) < 3:
        raise TalkmeshError("--anchors: give at least 3 LANDMARK=VERTEX pairs (not on one line)")
    for landmark, vertex in anchors.items():
        if not 0 <= landmark < num_landmarks:
            raise TalkmeshError(f"--anchors: landmark {landmark} is not in 0…{num_landmarks - 1}")
        if not 0 <= vertex < num_vertices:
            raise TalkmeshError(f"--anchors: the rig has no vertex {vertex} (0…{num_vertices - 1})")


def map_for_rig(
    rig_path: str | Path,
    anchors: str,
    out: str | Path,
    num_landmarks: int = 478,
) -> dict:
    """`talkmesh rig map`: the canonical face's landmarks (the built-in rig's neutral, cm; the
    first `num_landmarks`) mapped onto a rig (.glb/.gltf, or an OBJ neutral)
    from "LANDMARK=VERTEX,…" anchors, written to `out`; returns the fit's report."""
    from talkmesh_jax.formats.gltf import read_rig
    from talkmesh_jax.rig.builtin_rig import builtin_rig
    from talkmesh_jax.rig.correspond import write_surface_map

    rig_path = Path(rig_path)
    if rig_path.suffix.lower() == ".obj":  # the neutral is all a map needs
        neutral, triangles = read_obj(rig_path)
    else:
        rig = read_rig(rig_path)
        neutral, triangles = rig.neutral, rig.triangles
    face = builtin_rig()[0][:num_landmarks]
    pairs = parse_anchors(anchors)
    surface, report = fit_surface_map(face, neutral, triangles, pairs)
    write_surface_map(out, surface, {**report, "rig": str(rig_path)})
    return report
