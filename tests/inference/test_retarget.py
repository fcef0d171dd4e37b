"""`talkmesh retarget` end to end on a trained run: the built-in rig by solving, the same rig
moved, turned and scaled to metres with a map file (same weights), and ARKit curves by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.facemesh import canonical_face
from talkmesh_jax.media import write_wav
from talkmesh_jax.rig.builtin_rig import TARGET_NAMES, builtin_rig
from talkmesh_jax.rig.gltf import read_rig, read_weight_animation, write_rig


@pytest.fixture(scope="module")
def speech(tmp_path_factory, synth_data):
    audio = np.load(sorted((synth_data / "audios").glob("*.npy"))[0])
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    write_wav(path, audio)
    return path


def _csv_weights(path) -> np.ndarray:
    lines = path.read_text().splitlines()
    assert lines[0].split(",")[2:] == list(TARGET_NAMES)
    return np.array([[float(v) for v in line.split(",")[2:]] for line in lines[1:]])


def test_retarget_solves_the_builtin_rig_and_any_pose_of_it(trained_run, speech, tmp_path):
    out = tmp_path / "face.glb"
    assert (
        main(["retarget", "--workdir", str(trained_run), "--audio", str(speech), "--out", str(out)])
        == 0
    )
    times, weights = read_weight_animation(out)
    assert weights.shape == (len(times), len(TARGET_NAMES)) and np.all(times[1:] > times[:-1])
    np.testing.assert_allclose(np.diff(times), 0.04, atol=1e-6)
    np.testing.assert_allclose(_csv_weights(out.with_suffix(".weights.csv")), weights, atol=1e-5)
    assert out.with_suffix(".wav").stat().st_size > 1000
    assert weights.min() >= 0 and weights.max() <= 1
    # the same rig turned 40°, shifted and in metres, with an identity map: the same weights
    neutral, targets = builtin_rig()
    angle = np.deg2rad(40)
    turn = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    )
    posed = tmp_path / "posed.glb"
    write_rig(
        posed,
        neutral @ turn.T / 100 + [0.1, 1.6, 0],
        canonical_face()["triangles"],
        {n: t @ turn.T / 100 for n, t in targets.items()},
    )
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"landmark_to_vertex": list(range(478))}))
    again = tmp_path / "posed_out.glb"
    argv = [
        "retarget",
        "--workdir",
        str(trained_run),
        "--audio",
        str(speech),
        "--out",
        str(again),
        "--rig",
        str(posed),
        "--map",
        str(mapping),
    ]
    assert main(argv) == 0
    np.testing.assert_allclose(read_weight_animation(again)[1], weights, atol=2e-3)
    assert read_rig(again).names == list(TARGET_NAMES)
    # a rig without a map is refused in one line, nothing written
    assert main(argv[:-2] + ["--out", str(tmp_path / "nomap.glb")]) == 1
    assert not (tmp_path / "nomap.glb").exists()


def test_retarget_by_name_takes_the_runs_arkit_curves(synth_data, speech, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--config", "tiny", "--workdir", str(run), "--data", str(synth_data)]
    argv += ["--steps", "2", "--no-progress", "checkpoint.every=2", "data.window_frames=20"]
    argv += ["data.batch_size=4", "model.feature_dim=16", "model.targets=landmarks+blendshapes"]
    assert main(argv) == 0
    out = tmp_path / "byname.glb"
    assert (
        main(
            [
                "retarget",
                "--workdir",
                str(run),
                "--audio",
                str(speech),
                "--out",
                str(out),
                "--by",
                "name",
            ]
        )
        == 0
    )
    assert "15 of 15 rig targets matched by name" in capsys.readouterr().out
    exported = tmp_path / "curves.npy"
    assert (
        main(["export", "--workdir", str(run), "--audio", str(speech), "--out", str(exported)]) == 0
    )
    curves = np.load(exported.with_suffix(".blendshapes.npy"))
    from talkmesh_jax.facemesh import BLENDSHAPE_NAMES

    want = np.clip(curves[:, [BLENDSHAPE_NAMES.index(n) for n in TARGET_NAMES]], 0, 1)
    np.testing.assert_allclose(read_weight_animation(out)[1], want, atol=1e-5)
