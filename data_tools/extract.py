"""Videos → dataset: normalise (ffmpeg), landmarks (MediaPipe), metric landmarks; resumable.

Per video `<id>` (the file's stem) two steps, each skipped when its outputs exist:
  normalise  videos/<id>.mp4 (constant fps, H.264 + AAC) and audios/<id>.npy ([S] float32, 16 kHz)
  landmarks  validity/, image_landmarks/, blendshapes/ ([T, 52]), head_pose/ ([T, 4, 4]) and,
             last, landmarks/<id>.npy (metric cm), all from MediaPipe's Face Landmarker
Every file is written under a temporary name and renamed, the landmark file last, so after a crash
a video is either complete or redone, and no partial file is ever visible under a final name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, SAMPLE_RATE, TalkmeshError
from talkmesh_jax.data.dataset import (
    DatasetInfo,
    remove_stale_temporaries,
    save_array,
    to_layout,
    write_info,
)
from talkmesh_jax.data_tools.jobs import Summary, run_jobs
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from talkmesh_jax.media import VIDEO_SUFFIXES, load_audio, normalise_video, probe

WORK_DIR = ".work"  # per-run scratch space inside the dataset (same file system: atomic renames)


@dataclass(frozen=True)
class ExtractOptions:
    """fps of the normalised video; audio rate; landmark count (468 or 478) and on-disk layout."""

    fps: int = FPS
    sample_rate: int = SAMPLE_RATE
    num_landmarks: int = 478
    layout: str = "tv3"
    overwrite: bool = False

    def __post_init__(self):
        if self.num_landmarks not in (468, 478):
            raise ValueError(f"--landmarks must be 468 or 478, got {self.num_landmarks}")
        if self.fps <= 0 or self.sample_rate <= 0:
            raise ValueError("fps and sample rate must be positive")
        to_layout(np.zeros((1, 468, 3)), self.layout)  # validates the layout name


def find_videos(source: str | os.PathLike) -> dict[str, Path]:
    """{id: path} of the video files in a folder (by suffix), or of one video file."""
    source = Path(source)
    if source.is_file():
        return {source.stem: source}
    if not source.is_dir():
        raise TalkmeshError(f"{source}: no such file or directory")
    videos: dict[str, Path] = {}
    for path in sorted(source.iterdir()):
        if path.suffix.lower() not in VIDEO_SUFFIXES or path.name.startswith("."):
            continue
        if path.stem in videos:
            raise TalkmeshError(f"{path}: same id as {videos[path.stem]} (ids are file stems)")
        videos[path.stem] = path
    if not videos:
        raise TalkmeshError(f"{source}: no video files ({', '.join(VIDEO_SUFFIXES)})")
    return videos


def _outputs(root: Path, name: str) -> dict[str, Path]:
    return {
        "video": root / "videos" / f"{name}.mp4",
        "audio": root / "audios" / f"{name}.npy",
        "validity": root / "validity" / f"{name}.npy",
        "image_landmarks": root / "image_landmarks" / f"{name}.npy",
        "blendshapes": root / "blendshapes" / f"{name}.npy",
        "head_pose": root / "head_pose" / f"{name}.npy",
        "landmarks": root / "landmarks" / f"{name}.npy",
    }


def is_normalised(root: Path, name: str) -> bool:
    out = _outputs(root, name)
    return out["video"].exists() and out["audio"].exists()


def has_landmarks(root: Path, name: str) -> bool:
    """The landmark step is done: landmarks and (since the Tasks API) blendshapes and head pose;
    a clip extracted before blendshapes existed is redone."""
    out = _outputs(root, name)
    return all(out[part].exists() for part in ("landmarks", "blendshapes", "head_pose"))


def normalise_one(source: Path, root: Path, name: str, options: ExtractOptions) -> float:
    """Probes, re-encodes and extracts the audio of one video; returns its duration in s."""
    info = probe(source)
    if not info.has_video:
        raise TalkmeshError(f"{source}: no video stream")
    if not info.has_audio:
        raise TalkmeshError(f"{source}: no audio stream")
    out = _outputs(root, name)
    scratch = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=root / WORK_DIR))
    try:
        video = scratch / f"{name}.mp4"
        normalise_video(source, video, options.fps)
        audio = load_audio(source, options.sample_rate)
        save_array(out["audio"], audio)
        out["video"].parent.mkdir(parents=True, exist_ok=True)
        os.replace(video, out["video"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return info.duration


def landmarks_one(
    root: Path, name: str, options: ExtractOptions, progress: Callable[[int], None]
) -> int:
    """MediaPipe + metric landmarks of `videos/<name>.mp4`; returns the number of frames."""
    from talkmesh_jax.data_tools.landmarks import detect_landmarks
    from talkmesh_jax.data_tools.metric import metric_landmarks

    out = _outputs(root, name)
    found = detect_landmarks(out["video"], progress)
    image, valid = found.image_landmarks, found.valid
    metric = np.zeros_like(image)
    if valid.any():
        metric[valid] = metric_landmarks(image[valid], *found.size)
    count = options.num_landmarks
    save_array(out["validity"], valid)
    save_array(out["image_landmarks"], image[:, :count])
    save_array(out["blendshapes"], found.blendshapes)
    save_array(out["head_pose"], found.head_pose)
    save_array(out["landmarks"], to_layout(metric[:, :count], options.layout))
    return len(valid)


@dataclass(frozen=True)
class ExtractJob:
    """Picklable per-video job for `run_jobs`: the steps that are not done yet."""

    root: Path
    sources: dict[str, Path]
    options: ExtractOptions
    normalise: bool = True
    landmarks: bool = True

    def __call__(self, name: str, progress: Callable[[int], None]) -> int:
        redo, frames = self.options.overwrite, 0
        if self.normalise and (redo or not is_normalised(self.root, name)):
            duration = normalise_one(self.sources[name], self.root, name, self.options)
            frames = round(duration * self.options.fps)
        if self.landmarks and (redo or not has_landmarks(self.root, name)):
            if not is_normalised(self.root, name):
                raise TalkmeshError(f"{self.root}/videos/{name}.mp4: missing (run normalise)")
            return landmarks_one(self.root, name, self.options, progress)
        progress(frames)
        return frames


def _estimated_frames(sources: dict[str, Path], names: list[str], fps: int) -> int | None:
    total = 0
    for name in names:
        try:
            total += round(probe(sources[name]).duration * fps)
        except TalkmeshError:
            pass  # reported by the job itself
    return total or None


def prepare_dataset(root: Path, options: ExtractOptions, landmarks: bool = True) -> None:
    """Creates the dataset directory and dataset.json; clears what a killed run left behind."""
    root.mkdir(parents=True, exist_ok=True)
    info = DatasetInfo(
        fps=options.fps,
        sample_rate=options.sample_rate,
        num_landmarks=options.num_landmarks,
        layout=options.layout,
        coordinate_frame="metric_cm",
        source="MediaPipe Face Landmarker (Tasks, VIDEO mode) + metric Procrustes (extract)",
        blendshape_names=tuple(BLENDSHAPE_NAMES) if landmarks else (),
    )
    write_info(root, info)
    shutil.rmtree(root / WORK_DIR, ignore_errors=True)
    (root / WORK_DIR).mkdir()
    remove_stale_temporaries(root)


def extract(
    videos: str | os.PathLike | None,
    root: str | os.PathLike,
    options: ExtractOptions = ExtractOptions(),
    workers: int = 1,
    normalise: bool = True,
    landmarks: bool = True,
    show_progress: bool = True,
) -> Summary:
    """Runs the requested steps over every video of `videos` (or, for landmarks only, over the
    normalised videos already in `root`). Returns the summary; failures do not raise."""
    root = Path(root)
    if videos is not None:
        sources = find_videos(videos)
    else:
        sources = {p.stem: p for p in sorted((root / "videos").glob("[!.]*.mp4"))}
        if not sources:
            raise TalkmeshError(f"{root}/videos: no normalised videos (run talkmesh normalise)")
    prepare_dataset(root, options, landmarks)
    names = list(sources)

    def done(name: str) -> bool:
        return (not normalise or is_normalised(root, name)) and (
            not landmarks or has_landmarks(root, name)
        )

    todo = [n for n in names if options.overwrite or not done(n)]
    job = ExtractJob(root, sources, options, normalise, landmarks)
    total = _estimated_frames(sources, todo, options.fps) if landmarks else None
    summary = run_jobs(todo, job, workers, total, "frames", show_progress)
    summary.skipped = [n for n in names if n not in todo]
    shutil.rmtree(root / WORK_DIR, ignore_errors=True)
    return summary
