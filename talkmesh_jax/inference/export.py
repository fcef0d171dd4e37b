"""`talkmesh export`: a trained run's animation for audio files, in the formats people use.

Per input, for each format asked (`talkmesh_jax.formats`): OUT.npy / .json / .csv (landmarks
[T, V, 3] float32 cm, in the dataset's frame), OUT.blendshapes.npy / .json / .csv (MediaPipe's 52
coefficients; the CSV in Live Link Face's ARKit layout) when the run predicts them, OUT_obj/ (one
OBJ per frame), OUT.mp4 (front and side views with the input's audio), OUT.html (a self-contained
viewer). 25 fps, T = round(seconds · 25).

A run that trained on several Whisper contexts (`model.audio_encoder.extra_contexts`) encodes each
input in the one that costs the fewest encoder FLOPs for its length (`context="auto"`; e.g.
'trailing' for clips of a few seconds, 'chunked' beyond), or in the one asked.

The audio is decoded in chunks and every frame goes to the writers as soon as it is final, so
memory does not grow with the length; outputs appear only when their input succeeded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from talkmesh_jax import SAMPLE_RATE, TalkmeshError
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES, canonical_face
from talkmesh_jax.formats import WRITERS, FaceInfo, FrameWriter, parse_formats
from talkmesh_jax.inference.predictor import Predictor
from talkmesh_jax.inference.runs import open_run
from talkmesh_jax.media import AUDIO_SUFFIXES, VIDEO_SUFFIXES, probe, stream_audio
from talkmesh_jax.run_dir import RunDir
from talkmesh_jax.targets import TargetLayout

SILENCE_PEAK = 1e-4  # −80 dBFS: quieter than this everywhere is no speech at all


def output_base(out: Path) -> Path:
    """OUT without a format suffix: speech.npy → speech (each format adds its own)."""
    return out.with_suffix("") if out.suffix.lower().lstrip(".") in WRITERS else out


def format_target(base: Path, name: str) -> Path:
    """base → base.<format> (the writer derives its other files from it)."""
    return base.with_name(f"{base.name}.{name}")


def audio_inputs(source: Path, out: Path) -> list[tuple[Path, Path]]:
    """(input, output base) pairs: one file, or every audio/video file of a folder."""
    if source.is_file():
        if out.is_dir():
            return [(source, out / source.stem)]
        return [(source, output_base(out))]
    if not source.is_dir():
        raise TalkmeshError(f"{source}: no such file or directory")
    suffixes = AUDIO_SUFFIXES + VIDEO_SUFFIXES
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise TalkmeshError(f"{source}: no audio files ({', '.join(AUDIO_SUFFIXES)})")
    if out.exists() and not out.is_dir():
        raise TalkmeshError(f"{out}: must be a folder when --audio is a folder")
    stems: dict[str, Path] = {}
    for path in files:
        if path.stem in stems:
            raise TalkmeshError(
                f"{path}: same name as {stems[path.stem].name}, both would write "
                f"{out / path.stem}.*; rename one"
            )
        stems[path.stem] = path
    return [(path, out / path.stem) for path in files]


def run_triangles(workdir: Path, num_vertices: int | None) -> np.ndarray | None:
    """[F, 3] int32 triangles of the run's faces: RUN/reference/triangles.npy (saved from a mesh
    dataset's template.obj), MediaPipe's canonical triangles for landmarks, the template.obj of
    the run's dataset (runs made before triangles were saved), else None."""
    saved = RunDir(workdir).reference("triangles")
    if saved.exists():
        return np.load(saved)
    if num_vertices in (468, 478):
        return canonical_face()["triangles"]
    from talkmesh_jax.config import load_config
    from talkmesh_jax.data.dataset import template_triangles

    dataset = load_config(RunDir(workdir).config).data.dataset
    return template_triangles(Path(dataset)) if dataset else None


def face_info(layout: TargetLayout, triangles: np.ndarray | None, audio: Path) -> FaceInfo:
    """What the writers need to know of a run predicting `layout` for the input `audio`."""
    vertices = layout.num_landmarks or None
    names = BLENDSHAPE_NAMES[: layout.num_blendshapes] if layout.num_blendshapes else None
    return FaceInfo(vertices, triangles, names, audio, title=audio.name)


def export_landmarks(
    workdir: str | os.PathLike,
    audio: str | os.PathLike,
    out: str | os.PathLike,
    checkpoint: str = "best",
    on_result: Callable[[Path, list[tuple[Path, int]] | None, str | None, str | None], None]
    | None = None,
    seed: int = 0,
    temperature: float = 1.0,
    formats: str | None = None,
    show_progress: bool = False,
    context: str = "auto",
) -> tuple[list[tuple[Path, int]], dict[Path, str]]:
    """Writes the outputs of each input (see the module docstring) in `formats` ("npy,mp4";
    None: from the suffix of `out`, or npy). Returns the (path, T) pairs written and {input:
    reason} of the inputs that failed; one bad input does not stop the others, and the model
    compiles once for all of them. `on_result(input, written or None, reason or None, its
    Whisper context if the run has several, else None)` is called after each input. `seed` and
    `temperature` drive sampling models (MeshTalk: the same seed gives the same face).
    `context`: the Whisper context of the features, one the run trained on, or "auto" (module
    docstring)."""
    chosen = parse_formats(formats, Path(out))
    pairs = audio_inputs(Path(audio), Path(out))
    _, predictor, _ = open_run(workdir, checkpoint, seed, temperature)
    if context != "auto":
        predictor.use_context(context)
    triangles = run_triangles(Path(workdir), predictor.layout.num_landmarks)
    total = sum(_duration(source) for source, _ in pairs)
    bar = tqdm(
        total=total,
        desc="export",
        bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s of audio [{elapsed}<{remaining}]",
        disable=not show_progress,
    )
    written, failed = [], {}
    several = len(predictor.feature_encoders) > 1  # then each input's context is reported

    def advance(seconds: float) -> None:  # probed durations can be a little short
        bar.update(max(0.0, min(seconds, bar.total - bar.n)))

    with bar:
        for source, base in pairs:
            if context == "auto" and predictor.feature_encoders:
                seconds = _duration(source)  # 0 when unreadable: reported by export_one
                predictor.use_context(predictor.cheapest_context(round(seconds * SAMPLE_RATE)))
            try:
                files = export_one(predictor, triangles, source, base, chosen, advance)
            except TalkmeshError as err:
                failed[source] = str(err)
                if on_result is not None:
                    on_result(source, None, str(err), predictor.context if several else None)
                continue
            written += files
            if on_result is not None:
                on_result(source, files, None, predictor.context if several else None)
    return written, failed


def _duration(path: Path) -> float:
    try:
        return probe(path).duration
    except TalkmeshError:
        return 0.0  # reported when it is exported


def export_one(
    predictor: Predictor,
    triangles: np.ndarray | None,
    source: Path,
    base: Path,
    formats: tuple[str, ...],
    advance: Callable[[float], object] = lambda seconds: None,
) -> list[tuple[Path, int]]:
    """Streams one input through the predictor into the writers of `formats` → [(path, T)]."""
    face = face_info(predictor.layout, triangles, source)
    writers: list[FrameWriter] = []
    try:
        for name in formats:
            writers.append(_open_writer(name, format_target(base, name), face))
        for vectors in predictor.stream(_checked_audio(source, advance)):
            block = predictor.split(vectors)
            for writer in writers:
                writer.write(block)
        paths = [path for writer in writers for path in writer.finish()]
    except BaseException:
        for writer in writers:
            writer.discard()
        raise
    return [(path, writers[0].frames) for path in paths]


def _open_writer(name: str, target: Path, face: FaceInfo) -> FrameWriter:
    try:
        return WRITERS[name](target, face)
    except OSError as err:
        raise TalkmeshError(f"{target}: cannot be written ({err.strerror or err})") from None


def _checked_audio(source: Path, advance: Callable[[float], object]) -> Iterator[np.ndarray]:
    """stream_audio(source), refusing audio that is silent throughout (after the last chunk)."""
    peak = 0.0
    for chunk in stream_audio(source):
        peak = max(peak, float(np.abs(chunk).max(initial=0.0)))
        advance(len(chunk) / SAMPLE_RATE)
        yield chunk
    if peak < SILENCE_PEAK:
        raise TalkmeshError(
            f"{source}: the audio is silent (peak below −80 dBFS), nothing to animate"
        )
