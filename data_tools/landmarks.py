"""MediaPipe Face Landmarker (Tasks API) over the frames of a video: landmarks, blendshapes, pose.

The model bundle `face_landmarker.task` (FaceMesh V2 with 478 landmarks, Blendshape V2, the face
geometry metadata; Apache-2.0) ships in `talkmesh_jax/resources/`, so extraction works offline.
The landmarker runs in VIDEO mode (tracking between frames; timestamps from the frame index and
the video's frame rate) with detection, presence and tracking confidence 0.5, the original
project's thresholds. A frame is valid only when exactly one face is there; invalid frames are
zeros. Faces are counted by the bundle's own face detector (BlazeFace short range, the model the
landmarker itself detects with; about 2 ms a frame), run on every frame: two faces → invalid.
The landmarker tracks one face. Asking it for two instead cost 1.6 ms more a frame and, in VIDEO
mode, reports a face that appears in a cut one frame late (seen here: the first frame of a cut to
two faces gave one face).
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, TalkmeshError
from talkmesh_jax.facemesh import (
    BLENDSHAPE_NAMES,
    NUM_BLENDSHAPES,
    NUM_REFINED_LANDMARKS,
    resource_path,
)

PROGRESS_EVERY = 25  # frames between progress reports
MODEL_BUNDLE = "face_landmarker.task"
DETECTOR_IN_BUNDLE = "face_detector.tflite"
CONFIDENCE = 0.5  # detection, presence and tracking thresholds (the original's)


@dataclass
class Detections:
    """What the landmarker found in a video of T frames.

    image_landmarks [T, 478, 3] float32: x, y normalised to the frame, z MediaPipe's relative
        depth (units of the frame width); blendshapes [T, 52] float32 in [0, 1], MediaPipe's order
        (`facemesh.BLENDSHAPE_NAMES`); head_pose [T, 4, 4] float32: the facial transformation
        matrix (canonical face, cm → MediaPipe's camera space, cm); valid [T] bool; size (width,
        height) in pixels. Invalid frames are zeros (head_pose too).
    """

    image_landmarks: np.ndarray
    blendshapes: np.ndarray
    head_pose: np.ndarray
    valid: np.ndarray
    size: tuple[int, int]


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


@cache
def model_bundle() -> bytes:
    """The shipped `face_landmarker.task` bundle."""
    return resource_path(MODEL_BUNDLE).read_bytes()


def create_landmarker():
    """A Face Landmarker in VIDEO mode with blendshapes and transformation matrices."""
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.vision import face_landmarker
    from mediapipe.tasks.python.vision.core.vision_task_running_mode import (
        VisionTaskRunningMode,
    )

    options = face_landmarker.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=model_bundle()),
        running_mode=VisionTaskRunningMode.VIDEO,
        num_faces=1,
        min_face_detection_confidence=CONFIDENCE,
        min_face_presence_confidence=CONFIDENCE,
        min_tracking_confidence=CONFIDENCE,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
    )
    return face_landmarker.FaceLandmarker.create_from_options(options)


def create_face_detector():
    """The bundle's face detector (BlazeFace short range) in VIDEO mode, to count faces."""
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.vision import face_detector
    from mediapipe.tasks.python.vision.core.vision_task_running_mode import (
        VisionTaskRunningMode,
    )

    model = zipfile.ZipFile(io.BytesIO(model_bundle())).read(DETECTOR_IN_BUNDLE)
    options = face_detector.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_buffer=model),
        running_mode=VisionTaskRunningMode.VIDEO,
        min_detection_confidence=CONFIDENCE,
    )
    return face_detector.FaceDetector.create_from_options(options)


def _rgb_frames(capture) -> Iterator[np.ndarray]:
    import cv2

    while True:
        ok, bgr = capture.read()
        if not ok:
            return
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _one_face(result) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(landmarks [478, 3], blendshapes [52], pose [4, 4]) when exactly one face was found."""
    if len(result.face_landmarks) != 1:
        return None
    landmarks = np.array([(p.x, p.y, p.z) for p in result.face_landmarks[0]], np.float32)
    categories = result.face_blendshapes[0]
    if [c.category_name for c in categories] != BLENDSHAPE_NAMES:
        raise TalkmeshError("MediaPipe's blendshape names differ from facemesh.BLENDSHAPE_NAMES")
    scores = np.array([c.score for c in categories], np.float32)
    pose = np.asarray(result.facial_transformation_matrixes[0], np.float32).reshape(4, 4)
    return landmarks, scores, pose


def _frame_results(
    capture, fps: float
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """Per frame the one face's arrays, or None (no face, or two by the detector); the tasks start
    and stop while MediaPipe's logs go to /dev/null."""
    import mediapipe as mp

    with _quiet_native_stderr():
        landmarker, detector = create_landmarker(), create_face_detector()

    def detect(rgb: np.ndarray, index: int):
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        timestamp = round(index * 1000 / fps)
        face = _one_face(landmarker.detect_for_video(image, timestamp))
        two_faces = len(detector.detect_for_video(image, timestamp).detections) > 1
        return None if two_faces else face

    try:
        for index, rgb in enumerate(_rgb_frames(capture)):
            if index == 0:  # MediaPipe logs its first inference (a memory-alignment notice)
                with _quiet_native_stderr():
                    face = detect(rgb, index)
            else:
                face = detect(rgb, index)
            yield face
    finally:
        with _quiet_native_stderr():  # MediaPipe logs its shut-down too
            landmarker.close()
            detector.close()


def detect_landmarks(
    video: str | os.PathLike, progress: Callable[[int], None] | None = None
) -> Detections:
    """Runs the Face Landmarker on every frame of `video`; `progress(n)` is called with the
    number of frames done since its last call."""
    import cv2

    video = Path(video)
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise TalkmeshError(f"{video}: OpenCV cannot open the video")
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = capture.get(cv2.CAP_PROP_FPS) or FPS
    landmarks, blendshapes, poses, valid, pending = [], [], [], [], 0
    try:
        for face in _frame_results(capture, fps):
            valid.append(face is not None)
            if face is None:
                face = (
                    np.zeros((NUM_REFINED_LANDMARKS, 3), np.float32),
                    np.zeros(NUM_BLENDSHAPES, np.float32),
                    np.zeros((4, 4), np.float32),
                )
            for values, array in zip((landmarks, blendshapes, poses), face, strict=True):
                values.append(array)
            pending += 1
            if progress is not None and pending == PROGRESS_EVERY:
                progress(pending)
                pending = 0
    finally:
        capture.release()
    if progress is not None and pending:
        progress(pending)
    if not valid:
        raise TalkmeshError(f"{video}: no frames could be decoded")
    return Detections(
        np.stack(landmarks),
        np.stack(blendshapes),
        np.stack(poses),
        np.array(valid),
        (width, height),
    )
