"""eval, export and plot on a briefly trained run; the run's files; resume refuses a new config."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.config import load_config
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.facemesh import region_indices
from talkmesh_jax.media import write_wav

SMALL = ["data.window_frames=20", "data.batch_size=4", "model.feature_dim=16"]


@pytest.fixture
def run(trained_run):
    return trained_run


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
    speech = summary["speech"]  # synthetic test split beside the shipped recordings of people
    assert set(speech) == {"synthetic_test", "recorded"}
    assert {"clean", "quiet_20db", "noise_10db", "pink_10db"} <= set(speech["recorded"])
    for scores in (speech["synthetic_test"], speech["recorded"]["clean"]):
        assert scores["lve_model"] > 0 and scores["lve_mean_face"] > 0.05
    printed = capsys.readouterr().out
    assert "lve" in printed and "recorded noise 10db" in printed


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
    from tests.whisper.test_encoder import save_random

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
    assert "has no blendshapes" in err and "model.targets=landmarks" in err


def _tree(root) -> dict:
    """Every file and folder under root → (size, mtime_ns): what "unchanged" means."""
    return {
        str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def test_readers_never_touch_the_run(run, tmp_path):
    """eval, export and plot leave RUN as it was: a checkpoint that a running `talkmesh train`
    is writing (orbax's temporary folder) survives them, and their default outputs go beside RUN."""
    writing = run / "checkpoints" / "13.orbax-checkpoint-tmp-1795432629"
    (writing / "state").mkdir(parents=True, exist_ok=True)
    (writing / "state" / "part").write_bytes(b"half a checkpoint")
    before = _tree(run)
    audio = tmp_path / "speech.wav"
    write_wav(audio, 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000))
    try:
        assert main(["eval", "--workdir", str(run), "--no-progress"]) == 0
        assert _export(run, audio, tmp_path / "speech.npy") == 0
        assert main(["plot", str(run)]) == 0
        assert _tree(run) == before
        assert (run.parent / "run.eval_test.json").exists()
        assert (run.parent / "run.curves.png").exists()
    finally:
        import shutil

        shutil.rmtree(writing)


def test_inference_reads_only_its_parameters_without_the_training_package(run):
    """Each checkpoint holds the inference parameters apart; opening a run reads them alone and
    imports nothing of talkmesh_jax.train (optimiser, state, step)."""
    code = (
        "import sys; from talkmesh_jax.inference.runs import open_run; "
        f"config, predictor, step = open_run({str(run)!r}); "
        "assert step == 12, step; "
        "print(sorted(m for m in sys.modules if m.startswith('talkmesh_jax.train')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert (run / "checkpoints" / "12" / "inference").is_dir()


def _copy_data(synth_data, tmp_path, no_validation: bool = False):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synth_data, data, ignore=shutil.ignore_patterns("packed"))
    if no_validation:
        split = data / "train_test_split.txt"
        split.write_text(split.read_text().replace("\tvalid", "\ttrain"))
    return data


def test_without_validation_only_the_last_checkpoints_are_kept(synth_data, tmp_path):
    data = _copy_data(synth_data, tmp_path, no_validation=True)  # no validation score
    run = tmp_path / "run"
    argv = ["train", "--config", "tiny", "--workdir", str(run), "--data", str(data)]
    argv += ["--steps", "8", "--no-progress", *SMALL, "checkpoint.every=2", "checkpoint.keep=2"]
    assert main(argv) == 0
    kept = sorted(int(p.name) for p in (run / "checkpoints").iterdir() if p.name.isdigit())
    assert kept == [6, 8]


def test_refused_and_resolved_options(synth_data, tmp_path, capsys):
    def train(data, *overrides: str) -> int:
        argv = ["train", "--config", "tiny", "--workdir", str(tmp_path / "run")]
        argv += ["--data", str(data), "--steps", "2", "--no-progress"]
        return main([*argv, *SMALL, "checkpoint.every=2", *overrides])

    assert train(synth_data, "data.fill_invalid='reference'", "model.output_type='pos'") == 1
    assert "toward the origin" in capsys.readouterr().err
    data = _copy_data(synth_data, tmp_path)  # a 468-landmark dataset
    for path in (data / "landmarks").glob("*.npy"):
        np.save(path, np.load(path)[:, :468])
    info = json.loads((data / "dataset.json").read_text())
    (data / "dataset.json").write_text(json.dumps({**info, "num_landmarks": 468}))
    assert train(data) == 1  # tiny asks for 478
    message = "has 468 landmarks per frame, model.num_landmarks is 478; set model.num_landmarks=468"
    assert message in capsys.readouterr().err
    assert train(data, "model.num_landmarks=None") == 0
    assert load_config(tmp_path / "run" / "config.json").model.num_landmarks == 468  # dataset's


def test_export_of_a_folder_reports_each_file(run, tmp_path, capsys):
    folder = tmp_path / "audio"
    folder.mkdir()
    write_wav(folder / "good.wav", 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000))
    (folder / "bad.wav").write_text("not audio")
    assert _export(run, folder, tmp_path / "out") == 1
    captured = capsys.readouterr()
    assert "bad.wav: decoding audio failed" in captured.err
    assert "exported 1 of 2 inputs, 1 failed" in captured.out
    assert np.load(tmp_path / "out" / "good.npy").shape == (25, 478, 3)
    assert not (tmp_path / "out" / "bad.npy").exists()
    (folder / "bad.wav").unlink()
    write_wav(folder / "good.mp3", np.zeros(1600))
    assert _export(run, folder, tmp_path / "out2") == 1
    assert "same name as good.mp3" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()


def test_eval_without_a_valid_frame_is_one_line(run, synth_data, tmp_path, capsys):
    import shutil

    data = _copy_data(synth_data, tmp_path)
    for path in (data / "validity").glob("*.npy"):
        np.save(path, np.zeros_like(np.load(path)))
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["data"]["dataset"] = str(data)
    (copy / "config.json").write_text(json.dumps(config))
    assert main(["eval", "--workdir", str(copy), "--json", str(tmp_path / "e.json")]) == 1
    assert "no clip of split 'test' has a valid frame" in capsys.readouterr().err


def test_resume_refuses_changed_data_faces_and_cosine_steps(synth_data, tmp_path, capsys):
    """The run's fingerprint (clips, frame counts, packed-array hashes, reference faces) and the
    cosine schedule guard a resume; --force-resume overrides; the run keeps its own faces."""
    data = _copy_data(synth_data, tmp_path)
    run = tmp_path / "run"

    def train(steps: int, *extra: str) -> int:
        argv = ["train", "--config", "tiny", "--workdir", str(run), "--data", str(data)]
        return main([*argv, "--steps", str(steps), "--no-progress", *extra, *SMALL])

    assert train(4, "checkpoint.every=2") == 0 and (run / "data_fingerprint.json").exists()
    config = ["checkpoint.every=2"]
    assert train(6, *config) == 1  # tiny's schedule is cosine
    assert "train.steps 4 → 6 changes the cosine learning rate" in capsys.readouterr().err
    assert train(6, "--force-resume", *config) == 0
    train_clip = next(n for n, p in Dataset(data).split().items() if p == "train")
    path = data / "landmarks" / f"{train_clip}.npy"
    np.save(path, np.load(path) + 0.1)  # same clips, same lengths, other content
    assert train(6, *config) == 1
    assert "the train part's landmarks changed" in capsys.readouterr().err
    assert train(6, "--force-resume", *config) == 0
    assert train(6, *config) == 0  # the forced resume recorded the data it trains on now
    saved_face = (run / "reference" / "mean_face.npy").read_bytes()
    np.save(data / "mean_face.npy", np.load(data / "mean_face.npy") + 1.0)
    assert train(6, *config) == 1
    assert "reference faces changed" in capsys.readouterr().err
    assert train(6, "--force-resume", *config) == 0  # forced: resumes with its own faces
    assert (run / "reference" / "mean_face.npy").read_bytes() == saved_face


def test_a_run_made_by_an_older_version_resumes(run, tmp_path):
    """Options added since a run was made (at their defaults) and the derived Whisper shape are
    not changes: the run resumes (and can be trained further to get the inference item older
    checkpoints lack)."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(run, old)
    config = json.loads((old / "config.json").read_text())
    del config["model"]["targets"], config["model"]["num_blendshapes"]
    del config["train"]["remat_frames"], config["train"]["blendshape_weight"]
    (old / "config.json").write_text(json.dumps(config))
    argv = ["train", "--config", str(old / "config.json"), "--workdir", str(old), "--no-progress"]
    assert main(argv) == 0
    assert main([*argv, "train.remat_frames=4"]) == 1  # not the default: a real change
