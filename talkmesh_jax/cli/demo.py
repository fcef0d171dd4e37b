"""`talkmesh demo`: the whole path on built-in data, from nothing to landmarks for new speech.

synth dataset (espeak-ng speech + a face driven by its phonemes, with blendshapes) → train the
shipped `whisper_tiny` config (frozen pretrained Whisper tiny.en, bundled with the install) on
landmarks and blendshapes together → eval on the held-out clips and on the shipped recordings of
people against the static baselines → export landmarks, blendshape curves, an mp4 and an HTML
viewer for a recorded human voice the model never heard (a LibriVox reading, public domain) →
plot the curves. Every step is the same library call as its own `talkmesh` command, and a second
run in the same folder resumes or reuses what is there (the data, the run, and its evaluation and
export while no checkpoint is newer than them).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import atomic_path, read_json
from talkmesh_jax.run_dir import RunDir

TARGETS = "landmarks+blendshapes"
SPEECH = "sonnet1_librivox"  # the shipped recording the demo exports (data/recorded.py)


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path = Path("talkmesh-demo")
    clips: int = 200
    steps: int = 1500
    seed: int = 0
    show_progress: bool = True
    drive: str = "phonemes"  # what moves the synthetic mouth (talkmesh synth --drive)
    config: str = "whisper_tiny"


def recorded_speech(name: str, out: Path) -> Path:
    """The shipped recording `name` as a 16 kHz wav file (written atomically)."""
    from talkmesh_jax.data.recorded import recorded_clip
    from talkmesh_jax.media import write_wav

    clip = recorded_clip(name)
    with atomic_path(out) as tmp:
        write_wav(tmp, clip.audio)
    return out


def speech_error(landmarks: np.ndarray, name: str, mean_face: np.ndarray) -> dict:
    """Lip error of exported landmarks [T, V, 3] on the shipped recording `name` against the
    face its phones drive (`recorded_speech.speech_scores`)."""
    from talkmesh_jax.data.recorded import recorded_clip, recorded_face
    from talkmesh_jax.inference.recorded_speech import speech_scores
    from talkmesh_jax.metrics import fit_length

    truth = recorded_face(recorded_clip(name))["landmarks"][:, : landmarks.shape[1]]
    return speech_scores([truth], [fit_length(landmarks, len(truth))], mean_face)


def _dataset(options: DemoOptions) -> Path:
    from talkmesh_jax.data.synth import synth_dataset

    data = options.workdir / "data"
    if not (data / "train_test_split.txt").exists():  # written last by synth
        synth_dataset(data, options.clips, options.seed, options.show_progress, drive=options.drive)
    return data


EXPORT_SUFFIXES = (".npy", ".blendshapes.npy", ".mp4", ".html")  # what the demo's export writes


def _newer_than_checkpoints(outputs: list[Path], run: Path) -> bool:
    """Whether every output exists and was written after the run's last checkpoint (a demo run
    again on a finished run reuses its evaluation and export)."""
    if not all(path.exists() for path in outputs):
        return False
    saved = [p.stat().st_mtime_ns for p in RunDir(run).checkpoints.rglob("*")]
    return min(path.stat().st_mtime_ns for path in outputs) > max(saved, default=0)


def run_demo(options: DemoOptions) -> dict:
    """Runs every step; returns {paths…, lve of the model and the baselines (cm), the jawOpen
    correlation}."""
    from talkmesh_jax.config import apply_overrides, load_config
    from talkmesh_jax.inference.evaluate import evaluate, write_results
    from talkmesh_jax.inference.export import export_landmarks
    from talkmesh_jax.train.loop import train_and_evaluate
    from talkmesh_jax.train.plot import plot_run

    workdir = options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    data = _dataset(options)
    config = load_config(options.config)
    dataset = f"data.dataset={str(data.absolute())!r}"
    apply_overrides(config, [dataset, f"train.steps={options.steps}", f"model.targets={TARGETS!r}"])
    run = workdir / "run"
    train_and_evaluate(config, run, options.show_progress)
    eval_json = workdir / "eval_test.json"
    if _newer_than_checkpoints([eval_json], run):  # a second demo on a finished run
        summary = read_json(eval_json)
    else:
        summary, rows = evaluate(run, "test", "best", options.show_progress)
        write_results(summary, rows, eval_json, eval_json.with_suffix(".csv"))
    speech = workdir / "speech.wav"
    out = workdir / "speech_landmarks"
    outputs = [out.with_name(out.name + suffix) for suffix in EXPORT_SUFFIXES]
    if not _newer_than_checkpoints([speech, *outputs], run):
        recorded_speech(SPEECH, speech)
        _, failed = export_landmarks(run, speech, out, formats="npy,mp4,html")
        if failed:
            raise TalkmeshError(next(iter(failed.values())))
    landmarks, blendshapes, video, viewer = outputs
    rig = workdir / "speech_rig.glb"
    if not _newer_than_checkpoints([rig, rig.with_suffix(".html")], run):
        from talkmesh_jax.inference.retarget import retarget_run

        retarget_run(run, speech, rig)  # the built-in rig, weights solved from the landmarks
    spoken = np.load(landmarks)
    lve = {method: values["lve"] for method, values in summary["metrics"].items()}
    mean_face = np.load(RunDir(run).reference("mean_face"))
    curves = summary["blendshapes"]
    return {
        "dataset": str(data),
        "run": str(run),
        "eval": str(eval_json),
        "curves": str(plot_run(run, workdir / "curves.png")),
        "speech": str(speech),
        "landmarks": str(landmarks),
        "blendshapes": str(blendshapes),
        "video": str(video),
        "viewer": str(viewer),
        "rig": str(rig),
        "rig_viewer": str(rig.with_suffix(".html")),
        "frames": len(spoken),
        "test_lve_cm": lve,
        "test_blendshape_mae": {m: curves[m]["mae_mean"] for m in ("model", "mean_blendshapes")},
        "test_jaw_open_correlation": curves["jaw_open_correlation"],
        "speech_table": summary.get("speech"),
        "speech_error": speech_error(spoken, SPEECH, mean_face),
    }


def format_demo(result: dict) -> str:
    lve, mae = result["test_lve_cm"], result["test_blendshape_mae"]
    from talkmesh_jax.inference.evaluate import format_speech

    ratio = lve["model"] / lve["mean_face"]
    spoken = result["speech_error"]
    r = spoken["lip_gap_correlation"]
    gap = "n/a" if r is None else f"{r:.2f}"
    return "\n".join(
        [
            f"dataset   {result['dataset']}",
            f"run       {result['run']} (curves: {result['curves']})",
            f"test LVE  model {lve['model']:.3f} cm, static mean face {lve['mean_face']:.3f} cm "
            f"({ratio:.2f}×), close-mouth face {lve['close_mouth_face']:.3f} cm",
            f"test blendshapes  MAE model {mae['model']:.4f}, static mean "
            f"{mae['mean_blendshapes']:.4f}; jawOpen correlation "
            f"{result['test_jaw_open_correlation']:.3f}",
            *(format_speech(result["speech_table"]) if result["speech_table"] else []),
            f"export    {result['speech']} (a person reading, never heard in training) → "
            f"{result['landmarks']} and {result['blendshapes']} "
            f"({result['frames']} frames, 25 fps)",
            f"          lip error {spoken['lve_model']:.3f} cm = {spoken['lve_ratio']:.2f}× the "
            f"static face's, lip-gap correlation {gap}",
            f"watch     {result['video']} (front and side views with the speech)",
            f"          {result['viewer']} (open in a browser: rotate, play, scrub)",
            f"rig       {result['rig']} (the built-in test rig's 15 ARKit targets solved from "
            "the landmarks, animated at 25 fps; any glTF viewer or Blender plays it)",
            f"          {result['rig_viewer']} (the rig with the speech, in a browser)",
            f"full metrics: {result['eval']}",
        ]
    )


def demo_options(
    workdir: str | os.PathLike,
    clips: int,
    steps: int,
    progress: bool,
    drive: str = "phonemes",
    config: str = "whisper_tiny",
) -> DemoOptions:
    if clips < 10:
        raise TalkmeshError(f"--clips {clips}: the demo needs at least 10 clips (train/valid/test)")
    return DemoOptions(
        Path(workdir), clips, steps, show_progress=progress, drive=drive, config=config
    )


def _demo(args: argparse.Namespace) -> int:
    options = demo_options(
        args.workdir, args.clips, args.steps, not args.no_progress, args.drive, args.config
    )
    print(format_demo(run_demo(options)))
    return 0


def add_demo_command(subparsers: argparse._SubParsersAction) -> None:
    """Adds demo."""
    p = subparsers.add_parser(
        "demo",
        help="synth data → train on frozen Whisper tiny.en → eval → export a recorded voice "
        "(a few minutes)",
    )
    p.add_argument("--workdir", default="talkmesh-demo", help="folder for everything it makes")
    p.add_argument("--clips", type=int, default=200, help="synthetic clips to train on")
    p.add_argument("--steps", type=int, default=1500, help="training steps")
    p.add_argument(
        "--drive",
        choices=["loudness", "phonemes"],
        default="phonemes",
        help="what moves the synthetic mouth (see talkmesh synth --drive)",
    )
    p.add_argument(
        "--config",
        default="whisper_tiny",
        help="shipped config to train (tiny: the fast conv model, espeak's voices only)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_demo)
