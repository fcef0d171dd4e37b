"""Test videos made from a real photograph (matplotlib's sample Grace Hopper portrait) with ffmpeg.

The face moves, rotates and scales from frame to frame; some frames are blank and some show the
face twice. Labels say which frame is which.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from talkmesh_jax.media import write_wav

WIDTH, HEIGHT, FPS = 640, 360, 25
BACKGROUND = (90, 90, 90)


def face_crop() -> np.ndarray:
    """[300, 300, 3] uint8 RGB crop of Grace Hopper's head, face about half its width."""
    import cv2
    import matplotlib.cbook

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)  # [600, 512, 3]
    # Landmarks of the portrait found once with MediaPipe: x 170–355, y 132–335 (pixels).
    cx, cy, size = 263, 235, 380
    crop = image[cy - size // 2 : cy + size // 2, cx - size // 2 : cx + size // 2]
    return cv2.resize(crop, (300, 300), interpolation=cv2.INTER_AREA)


def place(canvas: np.ndarray, crop: np.ndarray, x: float, y: float, angle: float, scale: float):
    """Draws `crop` centred at (x, y) pixels, rotated by `angle` degrees and scaled."""
    import cv2

    h, w = crop.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += (x - w / 2, y - h / 2)
    mask = cv2.warpAffine(np.ones((h, w), np.uint8), matrix, canvas.shape[1::-1])
    warped = cv2.warpAffine(crop, matrix, canvas.shape[1::-1], flags=cv2.INTER_LINEAR)
    canvas[mask > 0] = warped[mask > 0]


def frame_plan(num_frames: int = 60) -> list[dict]:
    """Per frame: kind (still | moving | blank | double) and the pose of the face."""
    plan = []
    rng = np.random.default_rng(0)
    for i in range(num_frames):
        if i < 8:
            plan.append({"kind": "still", "x": 320, "y": 180, "angle": 0.0, "scale": 1.0})
        elif i in (30, 31, 32):
            plan.append({"kind": "blank"})
        elif i in (45, 46, 47):
            plan.append({"kind": "double"})
        else:
            t = (i - 8) / 25
            plan.append(
                {
                    "kind": "moving",
                    "x": 320 + 90 * np.sin(2.1 * t) + rng.normal(0, 2),
                    "y": 180 + 30 * np.sin(3.3 * t),
                    "angle": 20 * np.sin(1.7 * t),
                    "scale": 1.0 + 0.2 * np.sin(2.9 * t),
                }
            )
    return plan


def render(plan: list[dict]) -> np.ndarray:
    """[T, H, W, 3] uint8 RGB frames."""
    crop = face_crop()
    frames = np.empty((len(plan), HEIGHT, WIDTH, 3), np.uint8)
    for frame, spec in zip(frames, plan, strict=True):
        frame[:] = BACKGROUND
        if spec["kind"] == "double":
            place(frame, crop, 165, 180, 0.0, 0.9)
            place(frame, crop, 475, 180, 0.0, 0.9)
        elif spec["kind"] != "blank":
            place(frame, crop, spec["x"], spec["y"], spec["angle"], spec["scale"])
    return frames


def write_video(path: Path, frames: np.ndarray, audio: bool = True, fps: int = FPS) -> Path:
    """Encodes RGB frames as H.264 mp4 with ffmpeg, with a 220 Hz tone as audio if asked."""
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    args += ["-s", f"{frames.shape[2]}x{frames.shape[1]}", "-r", str(fps), "-i", "-"]
    if audio:
        wav = path.with_suffix(".wav")
        seconds = len(frames) / fps
        t = np.arange(int(seconds * 16000)) / 16000
        write_wav(wav, 0.3 * np.sin(2 * np.pi * 220 * t))
        args += ["-i", str(wav), "-c:a", "aac", "-shortest"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p"]
    subprocess.run(args + [str(path)], input=frames.tobytes(), check=True)
    if audio:
        wav.unlink()
    return path


def open_mouth(frame: np.ndarray, image_landmarks: np.ndarray, gap: float) -> np.ndarray:
    """A copy of `frame` [H, W, 3] with the mouth opened by `gap` pixels: everything below the
    line between the lips (MediaPipe points 13/14, the inner-lip centres) within the jaw (corners
    61/291, chin 152) slides down, falling off smoothly outside the jaw; the opening is dark.
    `image_landmarks` [478, 3] are MediaPipe's normalised image landmarks of `frame`."""
    import cv2

    height, width = frame.shape[:2]
    points = image_landmarks[:, :2] * [width, height]
    lip_y = (points[13, 1] + points[14, 1]) / 2
    centre_x = (points[61, 0] + points[291, 0]) / 2
    half_width = 0.75 * abs(points[291, 0] - points[61, 0])
    chin_y = points[152, 1]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    across = np.clip(1 - ((x - centre_x) / half_width) ** 2, 0, 1)  # 1 at the centre line
    shift = gap * across * np.clip((chin_y + gap * 2 - y) / (gap * 2), 0, 1) * (y > lip_y)
    edited = cv2.remap(frame, x, (y - shift).astype(np.float32), cv2.INTER_LINEAR)
    cavity = (y > lip_y) & (y < lip_y + shift)
    edited[cavity] = (40, 10, 15)
    return edited
