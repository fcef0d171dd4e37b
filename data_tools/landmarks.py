"""MediaPipe FaceMesh over the frames of a video (OpenCV decodes, MediaPipe's bundled models).

Settings of the original project: legacy `solutions.face_mesh`, `refine_landmarks=True`, detection
and tracking confidence 0.5, video (tracking) mode. MediaPipe is asked for up to two faces so that a
second face can be seen: a frame is valid only when exactly one face is found.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.facemesh import NUM_REFINED_LANDMARKS

PROGRESS_EVERY = 25  # frames between progress reports


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Sends file descriptor 2 to /dev/null: MediaPipe's C++ start-up INFO/WARNING lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _face_mesh():
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False,
        max_num_faces=2,
        refine_landmarks=True,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )


def _as_array(face) -> np.ndarray:
    return np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32)


def _rgb_frames(capture) -> Iterator[np.ndarray]:
    import cv2

    while True:
        ok, bgr = capture.read()
        if not ok:
            return
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def detect_landmarks(
    video: str | os.PathLike, progress: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Runs FaceMesh on every frame of `video`.

    Returns (image landmarks [T, 478, 3] float32: x, y normalised to the frame, z MediaPipe's
    relative depth; zeros where invalid, valid [T] bool, (width, height) in pixels).
    `progress(n)` is called with the number of frames done since its last call.
    """
    import cv2

    video = Path(video)
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise TalkmeshError(f"{video}: OpenCV cannot open the video")
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def detections() -> Iterator[list | None]:
        """FaceMesh's faces per frame; the first frame runs while MediaPipe's start-up logs go
        to /dev/null."""
        rgb_frames = _rgb_frames(capture)
        with _quiet_native_stderr():
            face_mesh = _face_mesh()
            first = next(rgb_frames, None)
            first_faces = face_mesh.process(first).multi_face_landmarks if first is not None else 0
        with face_mesh:
            if first is not None:
                yield first_faces
            for rgb in rgb_frames:
                yield face_mesh.process(rgb).multi_face_landmarks

    frames, valid, pending = [], [], 0
    try:
        for faces in detections():
            one_face = faces is not None and len(faces) == 1
            frames.append(_as_array(faces[0]) if one_face else np.zeros((NUM_REFINED_LANDMARKS, 3)))
            valid.append(one_face)
            pending += 1
            if progress is not None and pending == PROGRESS_EVERY:
                progress(pending)
                pending = 0
    finally:
        capture.release()
    if progress is not None and pending:
        progress(pending)
    if not frames:
        raise TalkmeshError(f"{video}: no frames could be decoded")
    return np.stack(frames).astype(np.float32), np.array(valid, bool), (width, height)
