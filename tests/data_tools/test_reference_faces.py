"""Reference faces as the original defined them; inspect's report and picture."""

import json

import numpy as np

from talkmesh_jax.cli import main
from talkmesh_jax.data.dataset import Dataset, save_clip
from talkmesh_jax.data.synth import face_model
from talkmesh_jax.facemesh import inner_lip_area


def test_mean_and_close_mouth_faces(tmp_path, rng):
    model = face_model()
    openings = {"a": rng.uniform(0, 1, 40), "b": rng.uniform(0, 1, 30)}
    faces, valids = {}, {}
    for name, opening in openings.items():
        landmarks = (model["base"] + opening[:, None, None] * model["jaw"]).astype(np.float32)
        valid = rng.random(len(opening)) > 0.25
        landmarks[~valid] = 0
        save_clip(tmp_path, name, np.zeros(len(opening) * 640), landmarks, valid)
        faces[name], valids[name] = landmarks, valid
    assert main(["reference", str(tmp_path), "--close-frames", "10", "--no-progress"]) == 0
    dataset = Dataset(tmp_path)
    all_valid = np.concatenate([faces[n][valids[n]] for n in ("a", "b")])
    np.testing.assert_allclose(dataset.reference_face("mean_face"), all_valid.mean(0), atol=1e-5)
    smallest = all_valid[np.argsort(inner_lip_area(all_valid))[:10]]
    np.testing.assert_allclose(
        dataset.reference_face("close_mouth_face"), smallest.mean(0), atol=1e-5
    )
    assert inner_lip_area(dataset.reference_face("close_mouth_face")) < inner_lip_area(
        dataset.reference_face("mean_face")
    )


def test_inspect_prints_counts_and_writes_a_picture(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["synth", str(data), "--clips", "3", "--no-progress"]) == 0
    capsys.readouterr()
    report = tmp_path / "report.json"
    argv = ["inspect", str(data), "--png", str(tmp_path / "face.png"), "--json", str(report)]
    assert main(argv + ["--no-progress"]) == 0
    out = capsys.readouterr().out
    stats = json.loads(report.read_text())
    assert f"{stats['clips']} clips, {stats['frames']} frames" in out and stats["clips"] == 3
    assert all(name in out for name in ("synth_00000", "synth_00001", "synth_00002"))
    png = (tmp_path / "face.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
