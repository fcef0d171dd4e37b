"""eval, export and plot on a briefly trained run; the run's files; resume refuses a new config."""

import csv
import json
import subprocess

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.config import load_config
from talkmesh_jax.facemesh import region_indices
from talkmesh_jax.media import write_wav

SMALL = ["data.window_frames=20", "data.batch_size=4", "model.feature_dim=16"]


@pytest.fixture(scope="module")
def run(synth_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "run"
    argv = [
        "train",
        "--config",
        "configs/tiny.py",
        "--workdir",
        str(run),
        "--data",
        str(synth_data),
    ]
    argv += ["--steps", "12", "--no-progress", "checkpoint.every=6", *SMALL]
    assert main(argv) == 0
    return run


def test_run_folder(run):
    config = load_config(run / "config.json")
    assert config.train.steps == 12 and config.data.window_frames == 20
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "valid_lve" in r] == [6, 12]
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert (run / "reference" / "close_mouth_face.npy").exists()


def test_resume_with_a_different_config_is_refused(run, synth_data, capsys):
    argv = ["train", "--config", str(run / "config.json"), "--workdir", str(run), "--no-progress"]
    assert main(argv + ["model.feature_dim=32"]) == 1
    assert "has model.feature_dim=16, now 32; resume with the same" in capsys.readouterr().err


def test_eval_reports_model_and_baselines(run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", "--workdir", str(run), "--json", str(out), "--no-progress"]) == 0
    summary = json.loads(out.read_text())
    assert set(summary["metrics"]) == {"model", "mean_face", "close_mouth_face"}
    expected = {"lve", "lve_squared", "mve", "fdd", "mse_face", "mse_lips"}
    assert expected <= set(summary["metrics"]["model"])
    assert summary["regions"]["lips"] == region_indices()["lips"]
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert len(rows) == 3 * summary["clips"] and summary["clips"] > 0
    assert "lve" in capsys.readouterr().out


def _export(run, audio, out) -> int:
    return main(["export", "--workdir", str(run), "--audio", str(audio), "--out", str(out)])


def test_export_any_audio_file_and_folder(run, tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    t = np.arange(int(7.3 * 16000)) / 16000
    write_wav(folder / "speech.wav", 0.3 * np.sin(2 * np.pi * 200 * t) * (t % 1 < 0.6))
    # 44.1 kHz stereo mp3, 3.1 s
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100"]
        + ["-t", "3.1", "-ac", "2", str(folder / "tone.mp3")],
        check=True,
    )
    out = tmp_path / "one.npy"
    assert _export(run, folder / "speech.wav", out) == 0
    landmarks = np.load(out)
    assert landmarks.shape == (round(7.3 * 25), 478, 3) and landmarks.dtype == np.float32
    # absolute landmarks in the dataset's frame: near the reference face, not displacements
    reference = np.load(run / "reference" / "close_mouth_face.npy")
    assert np.abs(landmarks - reference).mean() < 0.5 < np.abs(reference).mean()
    assert _export(run, folder, tmp_path / "many") == 0
    assert np.load(tmp_path / "many" / "speech.npy").shape == landmarks.shape
    frames = np.load(tmp_path / "many" / "tone.npy").shape[0]
    assert abs(frames - round(3.1 * 25)) <= 1  # mp3 encoder padding may add a frame


def test_export_errors(run, tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    assert _export(run, bad, tmp_path / "x.npy") == 1
    assert "bad.wav: decoding audio failed" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()
    assert _export(tmp_path, bad, tmp_path / "x.npy") == 1
    assert "not a training run" in capsys.readouterr().err


def test_plot(run, tmp_path):
    assert main(["plot", str(run), "--out", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_whisper_run_exports_without_its_hugging_face_checkpoint(synth_data, tmp_path):
    """The run keeps the checkpoint's config.json; its weights are in the run's checkpoints."""
    pytest.importorskip("torch")  # the random checkpoint is made with transformers' PyTorch model
    from tests.models.test_whisper import save_random

    checkpoint = tmp_path / "whisper"
    save_random(checkpoint)
    run = tmp_path / "run"
    argv = ["train", "--config", "original", "--workdir", str(run), "--data", str(synth_data)]
    argv += ["--steps", "2", "--no-progress", *SMALL, "checkpoint.every=2", "eval.max_windows=4"]
    assert main([*argv, f"model.audio_encoder.checkpoint={str(checkpoint)!r}"]) == 0
    assert (run / "audio_encoder" / "config.json").read_bytes() == (
        checkpoint / "config.json"
    ).read_bytes()
    audio = tmp_path / "speech.wav"
    t = np.arange(int(1.5 * 16000)) / 16000
    write_wav(audio, 0.3 * np.sin(2 * np.pi * 220 * t))
    for path in checkpoint.iterdir():
        path.unlink()
    checkpoint.rmdir()
    assert _export(run, audio, tmp_path / "speech.npy") == 0
    assert np.load(tmp_path / "speech.npy").shape == (round(1.5 * 25), 468, 3)


def test_blendshape_run_trains_evaluates_and_exports(synth_data, tmp_path, capsys):
    """model.targets=blendshapes: validation, eval and export speak blendshapes only."""
    run = tmp_path / "run"
    argv = ["train", "--config", "tiny", "--workdir", str(run), "--data", str(synth_data)]
    argv += ["--steps", "6", "--no-progress", *SMALL, "checkpoint.every=6"]
    assert main([*argv, "model.targets='blendshapes'"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "valid_blendshape_mae" in r] == [6]
    assert not any("valid_lve" in r for r in records)
    assert main(["eval", "--workdir", str(run), "--json", str(tmp_path / "e.json")]) == 0
    summary = json.loads((tmp_path / "e.json").read_text())
    assert "metrics" not in summary and summary["clips"] > 0
    section = summary["blendshapes"]
    assert len(section["names"]) == 52 and set(section["mouth_correlation"]) >= {"jawOpen"}
    assert section["model"]["per_coefficient"]["jawOpen"]["mae"] >= 0
    assert section["mean_blendshapes"]["mae_mean"] > 0
    assert "jawOpen correlation" in capsys.readouterr().out
    audio = tmp_path / "speech.wav"
    write_wav(audio, 0.3 * np.sin(2 * np.pi * 220 * np.arange(32000) / 16000))
    assert _export(run, audio, tmp_path / "speech.npy") == 0
    assert not (tmp_path / "speech.npy").exists()  # no landmarks from a blendshape model
    curves = np.load(tmp_path / "speech.blendshapes.npy")
    assert curves.shape == (50, 52) and curves.dtype == np.float32


def test_blendshape_targets_need_a_dataset_with_blendshapes(synth_data, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synth_data, data, ignore=shutil.ignore_patterns("packed"))
    info = json.loads((data / "dataset.json").read_text())
    (data / "dataset.json").write_text(json.dumps({**info, "blendshape_names": []}))
    argv = ["train", "--config", "tiny", "--workdir", str(tmp_path / "run"), "--data", str(data)]
    assert main([*argv, "--steps", "2", "--no-progress", "model.targets='blendshapes'"]) == 1
    err = capsys.readouterr().err
    assert "have no blendshapes" in err and "model.targets=landmarks" in err
