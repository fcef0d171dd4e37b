"""`talkmesh demo`: the whole path on built-in data, from nothing to landmarks for new speech.

synth dataset (espeak-ng speech + a face driven by it) → train the shipped `tiny` config → eval on
the held-out clips against the static baselines → export landmarks for a sentence the model never
heard → plot the curves. Every step is the same library call as its own `talkmesh` command, and a
second run in the same folder resumes or reuses what is there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import atomic_path

SENTENCE = "Thank you all for coming this morning. We will build something new together."


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path = Path("talkmesh-demo")
    clips: int = 40
    steps: int = 500
    seed: int = 0
    show_progress: bool = True


def speak_to_file(text: str, out: Path) -> Path:
    """espeak-ng speech of `text` as a wav file (written atomically)."""
    from talkmesh_jax.data.synth import speak_to_wav

    with atomic_path(out) as tmp:
        speak_to_wav(text, tmp)
    return out


def _dataset(options: DemoOptions) -> Path:
    from talkmesh_jax.data.synth import synth_dataset

    data = options.workdir / "data"
    if not (data / "train_test_split.txt").exists():  # written last by synth
        synth_dataset(data, options.clips, options.seed, options.show_progress)
    return data


def run_demo(options: DemoOptions) -> dict:
    """Runs every step; returns {paths…, lve of the model and the baselines (cm)}."""
    from talkmesh_jax.config import apply_overrides, load_config
    from talkmesh_jax.evaluate import evaluate, write_results
    from talkmesh_jax.export import export_landmarks
    from talkmesh_jax.train.loop import train_and_evaluate
    from talkmesh_jax.train.plot import plot_run

    workdir = options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    data = _dataset(options)
    config = load_config("tiny")
    dataset = f"data.dataset={str(data.absolute())!r}"
    apply_overrides(config, [dataset, f"train.steps={options.steps}"])
    run = workdir / "run"
    train_and_evaluate(config, run, options.show_progress)
    summary, rows = evaluate(run, "test", "best", options.show_progress)
    eval_json = run / "eval_test.json"
    write_results(summary, rows, eval_json, eval_json.with_suffix(".csv"))
    speech = speak_to_file(SENTENCE, workdir / "speech.wav")
    [(landmarks, frames)] = export_landmarks(run, speech, workdir / "speech_landmarks.npy")
    lve = {method: values["lve"] for method, values in summary["metrics"].items()}
    return {
        "dataset": str(data),
        "run": str(run),
        "eval": str(eval_json),
        "curves": str(plot_run(run)),
        "speech": str(speech),
        "landmarks": str(landmarks),
        "frames": frames,
        "test_lve_cm": lve,
    }


def format_demo(result: dict) -> str:
    lve = result["test_lve_cm"]
    ratio = lve["model"] / lve["mean_face"]
    return "\n".join(
        [
            f"dataset   {result['dataset']}",
            f"run       {result['run']} (curves: {result['curves']})",
            f"test LVE  model {lve['model']:.3f} cm, static mean face {lve['mean_face']:.3f} cm "
            f"({ratio:.2f}×), close-mouth face {lve['close_mouth_face']:.3f} cm",
            f"export    {result['speech']} → {result['landmarks']} ({result['frames']} frames, "
            "25 fps)",
            f"full metrics: {result['eval']}",
        ]
    )


def demo_options(workdir: str | os.PathLike, clips: int, steps: int, progress: bool) -> DemoOptions:
    if clips < 10:
        raise TalkmeshError(f"--clips {clips}: the demo needs at least 10 clips (train/valid/test)")
    return DemoOptions(Path(workdir), clips, steps, show_progress=progress)
