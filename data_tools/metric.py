"""Metric landmarks: MediaPipe's face-geometry procedure, vectorised over frames in numpy.

Screen landmarks (x, y normalised to the frame, z relative depth in units of the frame width) are
seen by a pinhole camera with focal length = frame width and the principal point at the centre. They
are lifted to 3D in two scale-estimation passes, a weighted similarity transform (rotation,
translation, uniform scale; weights = the canonical face's `procrustes_weights`) is fitted from the
canonical face onto them, and its inverse is applied. The result does not depend on head position,
rotation or distance to the camera; it is in the canonical face's centimetres, y up, z toward the
camera — the frame of the original project's `mean_face.npy`.
"""

from __future__ import annotations

import numpy as np

from talkmesh_jax.facemesh import NUM_FACE_LANDMARKS, canonical_face

NEAR = 1.0  # the virtual camera's near plane (any positive value gives the same result)


def similarity_fit(
    source: np.ndarray, target: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted similarity Procrustes (Umeyama): target ≈ scale · R @ source + t, per batch item.

    source [N, 3] or [B, N, 3], target [B, N, 3], weights [N] ≥ 0 → (scale [B], R [B, 3, 3] proper
    rotations, t [B, 3]).
    """
    w = weights / weights.sum()
    source = np.broadcast_to(source, target.shape)
    source_mean = np.einsum("n,bnk->bk", w, source)
    target_mean = np.einsum("n,bnk->bk", w, target)
    src = source - source_mean[:, None]
    tgt = target - target_mean[:, None]
    covariance = np.einsum("n,bni,bnj->bij", w, tgt, src)  # [B, 3, 3]
    u, s, vt = np.linalg.svd(covariance)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones_like(s)
    fix[:, 2] = d
    rotation = (u * fix[:, None, :]) @ vt
    variance = np.einsum("n,bnk->b", w, src**2)
    scale = (s * fix).sum(-1) / variance
    translation = target_mean - scale[:, None] * np.einsum("bij,bj->bi", rotation, source_mean)
    return scale, rotation, translation


def _unproject(screen: np.ndarray, depth_offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Projected screen points [B, N, 3] → 3D camera space, right-handed (z toward camera)."""
    z = (screen[..., 2] - depth_offset[:, None] + NEAR) / scale[:, None]
    x = screen[..., 0] * z / NEAR
    y = screen[..., 1] * z / NEAR
    return np.stack([x, y, -z], axis=-1)


def camera_space(
    image_landmarks: np.ndarray, width: int, height: int, vertical_fov_degrees: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe image landmarks → (camera-space points [T, V, 3] cm, and the fitted pose of the
    canonical face in that space: scale [T], rotation [T, 3, 3], translation [T, 3] cm).

    The camera has its principal point at the centre and focal length = frame width (the original
    project's convention) or, with `vertical_fov_degrees`, that vertical field of view (MediaPipe's
    own face-geometry environment uses 63°).
    """
    points = np.asarray(image_landmarks, np.float64)
    if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] < NUM_FACE_LANDMARKS:
        raise ValueError(f"image landmarks must be [T, ≥468, 3], got {points.shape}")
    face = canonical_face()
    canonical = face["vertices"].astype(np.float64)
    weights = face["procrustes_weights"].astype(np.float64)
    # Frustum at the near plane, principal point centred.
    if vertical_fov_degrees is None:
        width_at_near, height_at_near = NEAR, NEAR * height / width
    else:
        height_at_near = 2 * NEAR * np.tan(np.radians(vertical_fov_degrees) / 2)
        width_at_near = height_at_near * width / height
    screen = np.stack(
        [
            (points[..., 0] - 0.5) * width_at_near,
            (0.5 - points[..., 1]) * height_at_near,
            points[..., 2] * width_at_near,
        ],
        axis=-1,
    )
    depth_offset = screen[:, :NUM_FACE_LANDMARKS, 2].mean(-1)
    first = screen * np.array([1.0, 1.0, -1.0])
    first_scale, _, _ = similarity_fit(canonical, first[:, :NUM_FACE_LANDMARKS], weights)
    second = _unproject(screen, depth_offset, first_scale)
    second_scale, _, _ = similarity_fit(canonical, second[:, :NUM_FACE_LANDMARKS], weights)
    camera = _unproject(screen, depth_offset, first_scale * second_scale)
    scale, rotation, translation = similarity_fit(
        canonical, camera[:, :NUM_FACE_LANDMARKS], weights
    )
    return camera, scale, rotation, translation


def metric_landmarks(
    image_landmarks: np.ndarray, width: int, height: int, vertical_fov_degrees: float | None = None
) -> np.ndarray:
    """MediaPipe image landmarks → metric landmarks.

    image_landmarks [T, V, 3] (V ≥ 468; x, y in [0, 1], z as MediaPipe reports it) of frames of
    `width` × `height` pixels → [T, V, 3] float32, cm, canonical-face frame. The first 468 points
    drive the fit; all V points (irises too) are transformed. The camera: see `camera_space`.
    """
    if len(image_landmarks) == 0:
        return np.zeros(np.shape(image_landmarks), np.float32)
    camera, scale, rotation, translation = camera_space(
        image_landmarks, width, height, vertical_fov_degrees
    )
    # Inverse of x ↦ s R x + t, applied to every point: Rᵀ (x − t) / s.
    local = (
        np.einsum("bji,bnj->bni", rotation, camera - translation[:, None]) / scale[:, None, None]
    )
    return local.astype(np.float32)


def apply_inverse_pose(camera: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Camera-space points [T, V, 3] and 4×4 poses [T, 4, 4] (canonical → camera, as MediaPipe's
    facial transformation matrix) → points in the canonical face's frame [T, V, 3]."""
    linear, translation = pose[:, :3, :3], pose[:, :3, 3]
    inverse = np.linalg.inv(linear)
    return np.einsum("bij,bnj->bni", inverse, camera - translation[:, None])
