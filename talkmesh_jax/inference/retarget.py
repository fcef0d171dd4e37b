"""`talkmesh retarget`: a run's speech animation on a character's rig (glTF morph targets).

Two ways (`by`):
  solve  the run's landmarks → per-frame weights of the rig's targets (`rig/solve.py`): each
         landmark's displacement from the run's close-mouth face, brought into the rig's frame
         (`rig/correspond.similarity` at the mapped vertices), against the targets' displacement
         of those vertices;
  name   the run's 52 predicted blendshape curves → the rig's ARKit-named targets
         (`rig/correspond.match_names`); unmatched names are reported.
Writes OUT.glb (the rig with a weight animation at the video frame rate), OUT.weights.csv (frame,
time and one column per rig target) and OUT.wav (the audio, 16 kHz, to play beside it), each
atomically. Reads the run only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, TalkmeshError
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from talkmesh_jax.fileio import atomic_path
from talkmesh_jax.rig.correspond import match_names, read_vertex_map, similarity
from talkmesh_jax.rig.gltf import GltfRig, read_rig, write_weight_animation
from talkmesh_jax.rig.solve import SolveOptions, solve_weights

WAYS = ("solve", "name")


def rig_displacements(
    landmarks: np.ndarray, rest: np.ndarray, rig: GltfRig, vertex_map: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(displacements [T, M, 3] in the rig's frame and units, target rows [K, M, 3]) of the M
    mapped landmarks: rest [V, 3] is aligned to the rig's neutral by a similarity transform."""
    mapped = np.flatnonzero(vertex_map >= 0)
    vertices = vertex_map[mapped]
    scale, rotation, _ = similarity(rest[mapped], rig.neutral[vertices])
    moved = (landmarks[:, mapped] - rest[mapped]) @ (scale * rotation).T
    return moved.astype(np.float32), rig.targets[:, vertices]


def weights_by_name(curves: np.ndarray, rig: GltfRig) -> tuple[np.ndarray, dict]:
    """([T, K] rig weights from the run's ARKit curves [T, 52], clipped to [0, 1]; the match)."""
    match = match_names(rig.names, list(BLENDSHAPE_NAMES))
    weights = np.zeros((len(curves), len(rig.names)), np.float32)
    for r, a in match["pairs"]:
        weights[:, r] = np.clip(curves[:, a], 0.0, 1.0)
    return weights, match


def write_weights_csv(path: Path, weights: np.ndarray, names: list[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(",".join(["frame", "time_s", *names]) + "\n")
        for t, row in enumerate(weights):
            values = ",".join(f"{v:.5f}" for v in row)
            f.write(f"{t},{t / FPS:.3f},{values}\n")


def retarget_run(
    workdir: str | Path,
    audio_path: str | Path,
    out: str | Path,
    rig_path: str | Path | None = None,
    by: str = "solve",
    map_path: str | Path | None = None,
    options: SolveOptions | None = None,
    checkpoint: str = "best",
) -> dict:
    """Drives the rig at `rig_path` (None: the built-in rig, identity map) from the run in
    `workdir` speaking `audio_path`; writes OUT.glb, OUT.weights.csv and OUT.wav. Returns a
    summary: files, frames, targets, the name match or the map's landmark count."""
    from talkmesh_jax.inference.runs import open_run
    from talkmesh_jax.media import load_audio, write_wav

    if by not in WAYS:
        raise TalkmeshError(f"--by must be one of {WAYS}, got {by!r}")
    out = Path(out).with_suffix(".glb")
    audio = load_audio(audio_path)
    _, predictor, step = open_run(workdir, checkpoint)
    predicted = predictor.predict_all(audio)
    with tempfile.TemporaryDirectory() as scratch:
        builtin = rig_path is None
        if builtin:
            from talkmesh_jax.rig.builtin_rig import write_builtin_rig

            rig_path = Path(scratch) / "builtin_rig.glb"
            write_builtin_rig(rig_path)
        rig = read_rig(rig_path)
        summary: dict = {"step": step, "by": by, "targets": rig.names}
        if by == "name":
            if "blendshapes" not in predicted:
                raise TalkmeshError(
                    f"{workdir}: the run predicts no blendshapes, so --by name has nothing to "
                    "map (train with model.targets=landmarks+blendshapes, or use --by solve)"
                )
            weights, match = weights_by_name(predicted["blendshapes"], rig)
            summary.update(unmatched_rig=match["unmatched_rig"], matched=len(match["pairs"]))
        else:
            vertex_map = _vertex_map(predicted, rig, map_path, rig_path, builtin)
            rest = predictor.faces["close_mouth_face"]
            moved, rows = rig_displacements(predicted["landmarks"], rest, rig, vertex_map)
            weights = solve_weights(moved, rows, options=options or SolveOptions())
            mapped = int((vertex_map >= 0).sum())
            summary["mapped_landmarks"] = mapped
        write_weight_animation(rig_path, out, weights, FPS)
    write_weights_csv(out.with_suffix(".weights.csv"), weights, rig.names)
    wav = out.with_suffix(".wav")
    with atomic_path(wav) as tmp:
        write_wav(tmp, audio)
    summary.update(
        frames=len(weights), files=[str(out), str(out.with_suffix(".weights.csv")), str(wav)]
    )
    return summary


def _vertex_map(predicted: dict, rig: GltfRig, map_path, rig_path: Path, builtin: bool):
    """[V] rig vertex per landmark (−1: none): the map file's, or the built-in rig's identity."""
    if "landmarks" not in predicted:
        raise TalkmeshError("the run predicts no landmarks, so --by solve has nothing to solve")
    count = predicted["landmarks"].shape[1]
    if map_path is not None:
        return read_vertex_map(map_path, count, len(rig.neutral))
    if builtin:
        return np.arange(count)  # the built-in rig's vertex i is landmark i
    raise TalkmeshError(
        f"{rig_path}: say which rig vertex carries each landmark with --map MAP.json "
        '({"landmark_to_vertex": [...]})'
    )
