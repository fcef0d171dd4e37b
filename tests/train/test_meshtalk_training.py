"""MeshTalk trained end to end through the CLI: stage 1 then stage 2 in one run; eval reports
what each input moves and export samples reproducibly (landmarks, slow); and on registered
meshes (the canonical face subdivided to 7,257 vertices) a batch of 4 × 64 frames trains within
24 GiB with a falling loss."""

import json
import subprocess
import sys

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.data.synth import Degradation, synth_dataset
from talkmesh_jax.media import write_wav
from talkmesh_jax.regions import landmark_regions, region_vertices


@pytest.fixture(scope="module")
def meshtalk_run(tmp_path_factory):
    """meshtalk_tiny (shortened) on data with gaps and noise, as extraction gives them: three runs
    of invalid (zeroed) frames in every clip and 0.15 mm of landmark noise."""
    data = tmp_path_factory.mktemp("meshtalk_synth") / "data"
    degradation = Degradation(invalid_runs=3, noise_cm=0.015)
    synth_dataset(data, clips=40, seed=11, show_progress=False, degradation=degradation)
    run = tmp_path_factory.mktemp("meshtalk") / "run"
    argv = ["train", "--config", "meshtalk_tiny", "--workdir", str(run), "--data", str(data)]
    argv += ["--no-progress", "train.steps=500", "model.meshtalk.context_steps=300"]
    assert main([*argv, "checkpoint.every=200"]) == 0
    return run, data


@pytest.mark.slow
def test_meshtalk_separates_audio_from_expression_and_samples_the_mouth(meshtalk_run, tmp_path):
    run, data = meshtalk_run
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [x["loss"] for x in lines if "loss" in x]
    assert losses[-1] < 1.5  # stage 2: NLL per head, from ln(32) = 3.47
    report = tmp_path / "eval.json"
    evaluate = ["eval", "--workdir", str(run), "--no-progress", "--no-recorded"]
    assert main([*evaluate, "--json", str(report)]) == 0
    summary = json.loads(report.read_text())
    swaps = summary["disentanglement"]
    print(json.dumps(swaps), summary["metrics"]["model"]["lve"], summary["metrics"]["mean_face"])
    assert swaps["audio_swap_lips_over_upper"] > 3.0  # (a) audio moves the mouth
    assert swaps["expression_swap_upper_over_lips"] > 3.0  # (b) expression the upper face
    lve = summary["metrics"]["model"]["lve"] / summary["metrics"]["mean_face"]["lve"]
    assert lve <= 0.6  # (c) sampled from audio alone
    # (d) the latent is alive: the sampled upper face moves like the data's, codes are used
    lively = summary["liveliness"]
    print(json.dumps(lively), json.dumps(summary["code_usage"]["encoder"]["perplexity"]))
    assert lively["upper_face_motion_cm"]["ratio"] >= 0.3  # measured 1.05
    assert lively["blinks_per_minute"]["ratio"] >= 0.3  # measured 0.8; 0 before issue 25
    usage = summary["code_usage"]
    assert usage["encoder"]["expression_share"] > 0.05 and usage["sampled"]["perplexity"] > 1.5
    assert any("code_perplexity" in x for x in lines)  # logged during training
    # export: upper-face motion (blinks, brows) is sampled, reproducibly from the seed
    audio = np.load(sorted((data / "audios").glob("*.npy"))[0])
    write_wav(tmp_path / "speech.wav", audio, 16000)
    outputs = {}
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        out = tmp_path / f"{name}.npy"
        argv = ["export", "--workdir", str(run), "--audio", str(tmp_path / "speech.wav")]
        assert main([*argv, "--out", str(out), "--seed", seed]) == 0
        outputs[name] = np.load(out)
    assert np.array_equal(outputs["a"], outputs["b"])
    assert not np.array_equal(outputs["a"], outputs["c"])
    upper = region_vertices(landmark_regions(478)["upper_face"])
    assert outputs["a"][:, upper].std(axis=0).mean() > 0.005  # cm: the upper face moves


# The process's own high-water mark (VmHWM, new at exec): ru_maxrss would also count the pytest
# process's size at the fork, which grows as the suite runs (7.4 GiB seen in CI).
MESH_TRAIN = """
import sys
from talkmesh_jax.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print("PEAK_KB", status)
sys.exit(code)
"""


@pytest.mark.slow
def test_meshtalk_trains_on_registered_meshes_within_memory(tmp_path):
    data = tmp_path / "mesh"
    dataset = synth_dataset(data, clips=6, seed=3, show_progress=False, mesh_levels=2)
    assert dataset.info.face == "mesh" and dataset.info.num_landmarks == 7257
    assert (data / "template.obj").read_text().count("\nf ") > 14000
    run = tmp_path / "run"
    argv = ["train", "--config", "meshtalk_mesh", "--workdir", str(run), "--data", str(data)]
    argv += ["--no-progress", "train.steps=24", "model.meshtalk.context_steps=4"]
    argv += ["train.warmup_steps=0", "log.every=4", "checkpoint.every=100"]
    result = subprocess.run(
        [sys.executable, "-c", MESH_TRAIN, *argv], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-2000:]
    peak_gib = int(result.stdout.split("PEAK_KB")[-1]) / 2**20
    print(f"peak memory {peak_gib:.2f} GiB")
    assert peak_gib < 24
    assert peak_gib < 4.0  # measured 3.1 GiB (README): a 30 % regression fails
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    stage_one = [x["loss"] for x in lines if "loss" in x and x["step"] <= 24]
    assert np.mean(stage_one[-3:]) < stage_one[0]


def test_meshtalk_trains_samples_and_evaluates_over_whisper_features(synth_data, tmp_path):
    """MeshTalk over frozen pretrained Whisper tiny.en (cached 'chunked' features): both stages
    train, eval's disentanglement feeds the same features export does, and export samples."""
    run = tmp_path / "run"
    argv = ["train", "--config", "meshtalk_tiny", "--workdir", str(run), "--data", str(synth_data)]
    argv += ["--no-progress", "train.steps=4", "model.meshtalk.context_steps=2"]
    argv += ["data.window_frames=20", "data.batch_size=4", "model.audio_encoder.kind=whisper"]
    argv += ["model.audio_encoder.checkpoint='bundled:tiny.en'", "model.audio_encoder.size=tiny"]
    argv += ["model.audio_encoder.context=chunked", "model.audio_encoder.frozen=True"]
    assert main(argv) == 0
    report = tmp_path / "eval.json"
    evaluate = ["eval", "--workdir", str(run), "--split", "train", "--json", str(report)]
    assert main([*evaluate, "--no-progress", "--no-recorded"]) == 0
    summary = json.loads(report.read_text())
    assert summary["disentanglement"]["windows"] >= 2 and "speech" not in summary
    audio = tmp_path / "speech.wav"
    write_wav(audio, 0.3 * np.sin(2 * np.pi * 200 * np.arange(40000) / 16000))
    out = tmp_path / "out.npy"
    assert main(["export", "--workdir", str(run), "--audio", str(audio), "--out", str(out)]) == 0
    landmarks = np.load(out)
    assert landmarks.shape == (round(40000 / 640), 478, 3) and np.isfinite(landmarks).all()
