"""`talkmesh retarget` end to end on a trained run: the built-in rig by solving, the same rig
moved, turned and scaled to metres with a map file (same weights), the same rig as OBJ files,
renumbered, with a map computed from anchors (same weights), limits, and ARKit curves by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.facemesh import canonical_face
from talkmesh_jax.formats.gltf import read_rig, read_weight_animation, write_rig
from talkmesh_jax.media import write_wav
from talkmesh_jax.rig.builtin_rig import TARGET_NAMES, builtin_rig


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
    live_link = out.with_suffix(".livelink.csv").read_text().splitlines()
    assert live_link[0] == "Timecode,BlendShapeCount," + ",".join(TARGET_NAMES)
    assert live_link[26].startswith("00:00:01:00.000,15,")  # frame 25 = 1 s
    page = out.with_suffix(".html").read_text()  # the rig page (tests/formats/test_rig_page.py)
    assert "DATA.push(" in page and "AUDIO.push(" in page
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


def posed_obj_rig(folder):
    """The built-in rig as OBJ files (neutral.obj, targets/<name>.obj), its vertices renumbered,
    turned 30° and in metres (`tests/rig/test_fit_map.posed_rig`); and six anchors for it."""
    from tests.rig.test_fit_map import ANCHORS, posed_rig
    from tests.rig.test_obj_rig import write_obj_rig

    vertices, triangles, vertex_of = posed_rig()
    _, targets = builtin_rig()
    order = np.argsort(vertex_of)
    angle = np.deg2rad(30)
    turn = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    )
    moved = {n: (t @ turn.T / 100)[order] for n, t in targets.items()}
    obj, targets_dir = write_obj_rig(folder, vertices, triangles, moved)
    return obj, targets_dir, ",".join(f"{i}={vertex_of[i]}" for i in ANCHORS)


def test_retarget_an_obj_rig_with_a_map_from_anchors(trained_run, speech, tmp_path, capsys):
    """The built-in rig as OBJ files, vertices renumbered, turned and in metres: six anchors give
    a map (saved, editable) whose weights equal the built-in rig's; `rig map` writes the same map
    for --map; per-target limits hold; a glTF rig without a map or anchors is refused."""
    base = ["retarget", "--workdir", str(trained_run), "--audio", str(speech)]
    assert main([*base, "--out", str(tmp_path / "builtin.glb")]) == 0
    want = read_weight_animation(tmp_path / "builtin.glb")[1]
    obj, folder, anchors = posed_obj_rig(tmp_path / "objrig")
    rig_args = ["--rig", str(obj), "--targets", str(folder)]
    out = tmp_path / "obj.glb"
    capsys.readouterr()
    assert main([*base, "--out", str(out), *rig_args, "--anchors", anchors]) == 0
    assert "map fitted from 6 anchors" in capsys.readouterr().out
    got = read_weight_animation(out)[1]
    order_by_name = [sorted(TARGET_NAMES).index(n) for n in TARGET_NAMES]
    np.testing.assert_allclose(got[:, order_by_name], want, atol=0.003)  # want: up to ~0.04
    fitted = json.loads(out.with_suffix(".map.json").read_text())
    assert fitted["about"]["anchors"] == 6 and len(fitted["landmark_to_surface"]) == 478
    # the same map from `talkmesh rig map`, used with --map
    mapping = tmp_path / "rig_map.json"
    assert main(["rig", "map", "--rig", str(obj), "--anchors", anchors, "--out", str(mapping)]) == 0
    again = tmp_path / "again.glb"
    assert main([*base, "--out", str(again), *rig_args, "--map", str(mapping)]) == 0
    np.testing.assert_allclose(read_weight_animation(again)[1], got, atol=1e-3)
    # limits: jawOpen at most 0.01, mouthClose exactly 0
    limited = tmp_path / "limited.glb"
    limits = "jawOpen=0:0.01,mouthClose=0:0"
    assert main([*base, "--out", str(limited), "--limits", limits]) == 0
    weights = read_weight_animation(limited)[1]
    assert weights[:, 0].max() <= 0.01 + 1e-6 and np.all(weights[:, 1] == 0)
    assert main([*base, "--out", str(tmp_path / "x.glb"), "--limits", "jawOpn=0:1"]) == 1
    assert "the rig has no target jawOpn" in capsys.readouterr().err
    assert not (tmp_path / "x.glb").exists()


def test_known_weights_come_back_through_a_fitted_map_on_a_posed_rig():
    """Known weights → the built-in rig's landmarks (+0.05 mm noise) → the rig renumbered, turned
    and in metres, a map fitted from six anchors → solved weights: within 0.02 on the mouth."""
    from talkmesh_jax.formats.gltf import GltfRig
    from talkmesh_jax.inference.retarget import rig_displacements
    from talkmesh_jax.rig.builtin_rig import MOUTH_TARGETS
    from talkmesh_jax.rig.fit_map import fit_surface_map
    from talkmesh_jax.rig.solve import solve_weights
    from tests.rig.test_fit_map import ANCHORS, posed_rig

    neutral, targets = builtin_rig()
    basis = np.stack([targets[n] for n in TARGET_NAMES])
    rng = np.random.default_rng(3)
    known = rng.uniform(0, 1, (60, len(TARGET_NAMES))) * (rng.uniform(size=(60, 15)) < 0.4)
    landmarks = neutral + np.einsum("tk,kvd->tvd", known, basis)
    landmarks += rng.normal(0, 0.005, landmarks.shape)
    vertices, triangles, vertex_of = posed_rig()
    order = np.argsort(vertex_of)
    angle = np.deg2rad(30)
    turn = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    )
    rig_targets = np.stack([(basis[k] @ turn.T / 100)[order] for k in range(len(basis))])
    rig = GltfRig(vertices, rig_targets, list(TARGET_NAMES), 0, 0, triangles)
    anchors = {i: int(vertex_of[i]) for i in ANCHORS}
    surface, _ = fit_surface_map(neutral, vertices, triangles, anchors)
    moved, rows = rig_displacements(landmarks.astype(np.float32), neutral, rig, surface)
    solved = solve_weights(moved, rows)
    mouth = [TARGET_NAMES.index(n) for n in MOUTH_TARGETS]
    assert np.abs(solved[:, mouth] - known[:, mouth]).max() < 0.02
