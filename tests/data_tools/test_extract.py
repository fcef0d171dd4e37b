"""`talkmesh extract` on a real photograph made into a video: MediaPipe, validity, metric frame.

Grace Hopper's face moves (±90 px), rotates (±20°) and scales (0.8–1.2×); frames 30–32 are blank
and 45–47 show the face twice. Tolerances, measured on this video: metric landmarks of all valid
face frames within 0.3 cm (mean over points) of their median face, every point within 1.2 cm; the
unmoved face within 1.0 cm RMS of the original project's mean face, scale within 10 %, rotation
within 6°.
"""

from pathlib import Path

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.data.packed import load_packed
from talkmesh_jax.data.packing import pack_dataset
from talkmesh_jax.data.windows import WindowSpec, create_batcher
from talkmesh_jax.data_tools.metric import (
    apply_inverse_pose,
    camera_space,
    metric_landmarks,
    similarity_fit,
)
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES, canonical_face, original_reference_face
from talkmesh_jax.media import probe
from tests.data_tools.videos import frame_plan, render, write_video

MEDIAPIPE_FOV = 63.0  # degrees, vertical: the camera of MediaPipe's face-geometry environment


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> tuple[Dataset, list[str]]:
    root = tmp_path_factory.mktemp("extract")
    plan = frame_plan(60)
    (root / "videos_in").mkdir()
    write_video(root / "videos_in" / "portrait.mp4", render(plan))
    assert main(["extract", str(root / "videos_in"), str(root / "data"), "--no-progress"]) == 0
    return Dataset(root / "data"), [spec["kind"] for spec in plan]


def test_landmarks_and_validity_per_frame(extracted):
    dataset, kinds = extracted
    audio, landmarks, valid = dataset.load_clip("portrait")
    image = np.load(dataset.root / "image_landmarks" / "portrait.npy")
    kinds = np.array(kinds)
    assert landmarks.shape == image.shape == (60, 478, 3)
    assert not valid[(kinds == "blank") | (kinds == "double")].any()
    assert valid[kinds == "still"].all()
    assert valid[kinds == "moving"].mean() >= 0.9  # MediaPipe may lose one frame after a cut
    assert not landmarks[~valid].any() and not image[~valid].any()
    xy = image[valid][..., :2]
    assert xy.min() > 0 and xy.max() < 1  # normalised image coordinates, kept for drawing


def test_blendshapes_and_head_pose_per_frame(extracted):
    dataset, kinds = extracted
    _, _, valid = dataset.load_clip("portrait")
    blendshapes = dataset.load_blendshapes("portrait")
    pose = dataset.load_head_pose("portrait")
    assert dataset.info.blendshape_names == tuple(BLENDSHAPE_NAMES) and len(BLENDSHAPE_NAMES) == 52
    assert blendshapes.shape == (60, 52) and pose.shape == (60, 4, 4)
    assert not blendshapes[~valid].any() and not pose[~valid].any()
    assert blendshapes.min() >= 0 and blendshapes.max() <= 1 and blendshapes[valid].any()
    rotation = pose[valid][:, :3, :3]
    identity = np.broadcast_to(np.eye(3), rotation.shape)
    np.testing.assert_allclose(rotation @ rotation.transpose(0, 2, 1), identity, atol=0.02)
    np.testing.assert_allclose(pose[valid][:, 3], [[0, 0, 0, 1]] * int(valid.sum()), atol=1e-6)
    # The face is in front of the camera, at a plausible distance (cm), and follows the rotation
    # of the video: the roll angle spans about ±20° over the moving frames.
    assert (pose[valid][:, 2, 3] < -20).all() and (pose[valid][:, 2, 3] > -200).all()
    moving = valid & (np.array(kinds) == "moving")
    roll = np.degrees(np.arctan2(pose[moving][:, 1, 0], pose[moving][:, 0, 0]))
    assert roll.max() - roll.min() > 25


def test_our_fit_reproduces_mediapipes_transformation_matrix(extracted):
    """MediaPipe itself as the reference: with MediaPipe's camera (63° vertical field of view) our
    Procrustes gives its facial transformation matrix (measured: 0.03° and 0.00 cm at most)."""
    dataset, _ = extracted
    _, _, valid = dataset.load_clip("portrait")
    image = np.load(dataset.root / "image_landmarks" / "portrait.npy")[valid]
    pose = dataset.load_head_pose("portrait")[valid].astype(np.float64)
    camera, scale, rotation, translation = camera_space(image, 640, 360, MEDIAPIPE_FOV)
    cosine = (np.einsum("bij,bij->b", rotation, pose[:, :3, :3]) - 1) / 2
    assert np.degrees(np.arccos(np.clip(cosine, -1, 1))).max() < 0.2
    assert np.abs(translation - pose[:, :3, 3]).max() < 0.05 and np.abs(scale - 1).max() < 0.01
    by_matrix = apply_inverse_pose(camera, pose)
    ours = metric_landmarks(image, 640, 360, MEDIAPIPE_FOV)
    assert np.abs(by_matrix - ours).max() < 0.01  # cm
    # Our convention (focal length = frame width, the original's) differs by the camera alone.
    _, landmarks, _ = dataset.load_clip("portrait")
    assert 0.05 < np.linalg.norm(landmarks[valid] - ours, axis=-1).mean() < 0.5


def test_metric_landmarks_do_not_move_with_the_head(extracted):
    dataset, kinds = extracted
    _, landmarks, valid = dataset.load_clip("portrait")
    image = np.load(dataset.root / "image_landmarks" / "portrait.npy")
    faces = landmarks[valid][:, :468]
    distance = np.linalg.norm(faces - np.median(faces, axis=0), axis=-1)  # [frames, 468] cm
    assert distance.mean(axis=1).max() < 0.3
    assert distance.max() < 1.2
    # The motion was really there: image landmarks move by more than 40 px at 640 px wide.
    pixels = image[valid][:, :468, :2] * [640, 360]
    assert np.linalg.norm(pixels - np.median(pixels, axis=0), axis=-1).mean(axis=1).max() > 40


def test_unmoved_face_is_in_the_original_mean_face_frame(extracted):
    dataset, kinds = extracted
    _, landmarks, valid = dataset.load_clip("portrait")
    still = landmarks[: kinds.count("still")][:, :468].mean(axis=0)
    for reference in (original_reference_face("mean_face"), canonical_face()["vertices"]):
        rms = np.sqrt(((still - reference) ** 2).sum(-1).mean())
        assert rms < 1.0  # same axes, same units, same origin, without any fitting
        scale, rotation, _ = similarity_fit(reference, still[None], np.ones(468))
        angle = np.degrees(np.arccos((np.trace(rotation[0]) - 1) / 2))
        assert abs(scale[0] - 1) < 0.1 and angle < 6


def test_audio_video_and_dataset_json(extracted):
    dataset, _ = extracted
    audio, _, _ = dataset.load_clip("portrait")
    assert dataset.info.num_landmarks == 478 and dataset.info.coordinate_frame == "metric_cm"
    assert abs(len(audio) / 16000 - 60 / 25) < 0.05
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(len(audio), 1 / 16000)[spectrum.argmax()] == pytest.approx(220, abs=2)
    info = probe(dataset.root / "videos" / "portrait.mp4")
    assert info.fps == 25 and info.has_audio and (info.width, info.height) == (640, 360)
    assert not (dataset.root / ".work").exists()


def test_dataset_feeds_the_batcher(extracted, tmp_path):
    dataset, _ = extracted
    packed = load_packed(pack_dataset(dataset, tmp_path / "packed", show_progress=False))
    _, _, valid = dataset.load_clip("portrait")
    batcher = create_batcher(packed, WindowSpec(window_frames=60, stride_frames=60, batch_size=1))
    batch = batcher.get_batch(0, 0)
    assert batch["landmarks"].shape == (1, 60, 478, 3)
    np.testing.assert_array_equal(batch["mask"][0], valid)


def test_rerun_skips_and_fps_option(extracted, tmp_path, capsys):
    dataset, _ = extracted
    videos = Path(dataset.root).parent / "videos_in"
    assert main(["extract", str(videos), str(dataset.root), "--no-progress"]) == 0
    assert "0 done, 1 skipped" in capsys.readouterr().out
    assert (
        main(["normalise", str(videos), str(tmp_path / "d"), "--fps", "10", "--no-progress"]) == 0
    )
    assert probe(tmp_path / "d" / "videos" / "portrait.mp4").fps == 10
    assert not (tmp_path / "d" / "landmarks").exists()
    assert main(["landmarks", str(tmp_path / "d"), "--no-progress"]) == 0  # the dataset's fps
    assert Dataset(tmp_path / "d").load_clip("portrait")[1].shape == (24, 478, 3)
