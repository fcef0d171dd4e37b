"""`talkmesh retarget`: a run's speech animation on a character's rig (glTF morph targets, or an
OBJ neutral with a folder of OBJ targets).

Two ways (`by`):
  solve  the run's landmarks → per-frame weights of the rig's targets (`rig/solve.py`): each
         landmark's displacement from the run's close-mouth face, brought into the rig's frame
         (`rig/correspond.similarity` at the mapped points), against the targets' displacement
         of those points. Where each landmark sits on the rig: a map file, or computed from a
         few anchors (`rig/fit_map.py`) and saved beside the outputs as OUT.map.json;
  name   the run's 52 predicted blendshape curves → the rig's ARKit-named targets
         (`rig/correspond.match_names`); unmatched names are reported.
Writes OUT.glb (the rig with a weight animation at the video frame rate), OUT.weights.csv (frame,
time and one column per rig target), OUT.livelink.csv (Live Link Face's layout — timecode, count,
values — under the rig's target names), OUT.wav (the audio, 16 kHz, to play beside it) and
OUT.html (a page that plays OUT.glb with the audio, self-contained), each atomically. Reads the
run only.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, TalkmeshError
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from talkmesh_jax.fileio import atomic_path
from talkmesh_jax.formats.arrays import timecode
from talkmesh_jax.formats.gltf import GltfRig, read_rig, write_weight_animation
from talkmesh_jax.formats.viewer import write_rig_page
from talkmesh_jax.rig.correspond import (
    SurfaceMap,
    match_names,
    read_surface_map,
    similarity,
    write_surface_map,
)
from talkmesh_jax.rig.solve import SolveOptions, solve_weights

WAYS = ("solve", "name")
OUTPUT_SUFFIXES = (".glb", ".weights.csv", ".livelink.csv", ".wav", ".html")


@dataclass
class RetargetOptions:
    """What `retarget_run` drives and how. rig: a .glb/.gltf, or an OBJ neutral with `targets`
    (a folder of OBJ targets); None = the built-in rig. map / anchors: where landmarks sit on the
    rig (a map file, or {landmark: vertex} anchors to compute one from). limits: {target name:
    (lower, upper)} for the solve (others [0, 1])."""

    rig: str | Path | None = None
    targets: str | Path | None = None
    by: str = "solve"
    map: str | Path | None = None
    anchors: dict[int, int] | None = None
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    solve: SolveOptions = field(default_factory=SolveOptions)
    checkpoint: str = "best"


def rig_displacements(
    landmarks: np.ndarray, rest: np.ndarray, rig: GltfRig, surface: SurfaceMap
) -> tuple[np.ndarray, np.ndarray]:
    """(displacements [T, M, 3] in the rig's frame and units, target rows [K, M, 3]) of the M
    mapped landmarks: rest [V, 3] is aligned to the rig's neutral by a similarity transform."""
    mapped = surface.mapped
    scale, rotation, _ = similarity(rest[mapped], surface.gather(rig.neutral))
    moved = (landmarks[:, mapped] - rest[mapped]) @ (scale * rotation).T
    return moved.astype(np.float32), surface.gather(rig.targets)


def weights_by_name(curves: np.ndarray, rig: GltfRig) -> tuple[np.ndarray, dict]:
    """([T, K] rig weights from the run's ARKit curves [T, 52], clipped to [0, 1]; the match)."""
    match = match_names(rig.names, list(BLENDSHAPE_NAMES))
    weights = np.zeros((len(curves), len(rig.names)), np.float32)
    for r, a in match["pairs"]:
        weights[:, r] = np.clip(curves[:, a], 0.0, 1.0)
    return weights, match


def parse_limits(text: str) -> dict[str, tuple[float, float]]:
    """'jawOpen=0:0.8,mouthClose=0:0.5' → {name: (lower, upper)}."""
    limits = {}
    for item in text.split(","):
        if not item.strip():
            continue
        try:
            name, bounds = item.split("=")
            lower, upper = (float(x) for x in bounds.split(":"))
        except ValueError:
            raise TalkmeshError(
                f"--limits: {item!r} is not NAME=LOWER:UPPER (e.g. jawOpen=0:0.8)"
            ) from None
        if lower > upper:
            raise TalkmeshError(
                f"--limits: {name}'s lower limit {lower} is above its upper {upper}"
            )
        limits[name.strip()] = (lower, upper)
    return limits


def limit_arrays(limits: dict, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """([K] lower, [K] upper) for the rig's targets: [0, 1] unless `limits` says otherwise."""
    unknown = sorted(set(limits) - set(names))
    if unknown:
        raise TalkmeshError(
            f"--limits: the rig has no target {', '.join(unknown)} (its targets: "
            f"{', '.join(names[:12])}{' …' if len(names) > 12 else ''})"
        )
    lower = np.array([limits.get(n, (0.0, 1.0))[0] for n in names], np.float32)
    upper = np.array([limits.get(n, (0.0, 1.0))[1] for n in names], np.float32)
    return lower, upper


def write_weights_csv(path: Path, weights: np.ndarray, names: list[str]) -> None:
    """`frame,time_s,<names>`: one row per frame, 5 decimals."""
    _write_table(path, ["frame", "time_s", *names], weights, lambda t: f"{t},{t / FPS:.3f}", 5)


def write_live_link_csv(path: Path, weights: np.ndarray, names: list[str]) -> None:
    """Live Link Face's CSV layout (`Timecode,BlendShapeCount,<names>`) under the rig's names."""
    header = ["Timecode", "BlendShapeCount", *names]
    _write_table(path, header, weights, lambda t: f"{timecode(t, FPS)},{len(names)}", 6)


def _write_table(path: Path, header: list[str], weights: np.ndarray, lead, decimals: int) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(",".join(header) + "\n")
        for t, row in enumerate(weights):
            f.write(lead(t) + "," + ",".join(f"{v:.{decimals}f}" for v in row) + "\n")


def output_paths(out: str | Path) -> list[Path]:
    """OUT.glb, OUT.weights.csv, OUT.livelink.csv, OUT.wav, OUT.html for --out OUT(.glb)."""
    stem = Path(out).with_suffix("")
    return [stem.with_name(stem.name + suffix) for suffix in OUTPUT_SUFFIXES]


def retarget_run(
    workdir: str | Path,
    audio_path: str | Path,
    out: str | Path,
    options: RetargetOptions | None = None,
) -> dict:
    """Drives a rig (options.rig; None: the built-in rig, identity map) from the run in
    `workdir` speaking `audio_path`; writes the OUTPUT_SUFFIXES files (and OUT.map.json when the
    map was computed from anchors). Returns a summary: files, frames, targets, the name match or
    the map's landmark count."""
    from talkmesh_jax.inference.runs import open_run
    from talkmesh_jax.media import load_audio, write_wav

    options = options or RetargetOptions()
    if options.by not in WAYS:
        raise TalkmeshError(f"--by must be one of {WAYS}, got {options.by!r}")
    glb, weights_csv, live_link, wav, page = output_paths(out)
    audio = load_audio(audio_path)
    with tempfile.TemporaryDirectory() as scratch:
        rig_path = _rig_file(options, Path(scratch))
        rig = read_rig(rig_path)
        lower, upper = limit_arrays(options.limits, rig.names)
        _, predictor, step = open_run(workdir, options.checkpoint)
        predicted = predictor.predict_all(audio)
        summary: dict = {"step": step, "by": options.by, "targets": rig.names}
        if options.by == "name":
            if "blendshapes" not in predicted:
                raise TalkmeshError(
                    f"{workdir}: the run predicts no blendshapes, so --by name has nothing to "
                    "map (train with model.targets=landmarks+blendshapes, or use --by solve)"
                )
            weights, match = weights_by_name(predicted["blendshapes"], rig)
            weights = np.clip(weights, lower, upper)
            summary.update(unmatched_rig=match["unmatched_rig"], matched=len(match["pairs"]))
        else:
            rest = predictor.faces["close_mouth_face"]
            surface, fitted = _surface_map(predicted, rest, rig, options)
            moved, rows = rig_displacements(predicted["landmarks"], rest, rig, surface)
            weights = solve_weights(moved, rows, lower, upper, options.solve)
            summary["mapped_landmarks"] = int(surface.mapped.sum())
            if fitted is not None:
                path = glb.with_suffix(".map.json")
                write_surface_map(path, surface, fitted)
                summary.update(map_fit=fitted, map_file=str(path))
        write_weight_animation(rig_path, glb, weights, FPS)
    write_weights_csv(weights_csv, weights, rig.names)
    write_live_link_csv(live_link, weights, rig.names)
    with atomic_path(wav) as tmp:
        write_wav(tmp, audio)
    write_rig_page(glb, wav, page, title=f"{Path(audio_path).name} on {rig_label(options)}")
    files = [glb, weights_csv, live_link, wav, page]
    if "map_file" in summary:
        files.append(Path(summary["map_file"]))
    summary.update(frames=len(weights), files=[str(f) for f in files])
    return summary


def rig_label(options: RetargetOptions) -> str:
    """The rig's name for titles: its file name, or "the built-in rig"."""
    return Path(options.rig).name if options.rig is not None else "the built-in rig"


def _rig_file(options: RetargetOptions, scratch: Path) -> Path:
    """The rig as a glTF file: the user's, an OBJ rig converted, or the built-in one."""
    if options.rig is None:
        if options.targets is not None:
            raise TalkmeshError("--targets needs --rig NEUTRAL.obj (the neutral head)")
        from talkmesh_jax.rig.builtin_rig import write_builtin_rig

        path = scratch / "builtin_rig.glb"
        write_builtin_rig(path)
        return path
    rig = Path(options.rig)
    if rig.suffix.lower() == ".obj":
        if options.targets is None:
            raise TalkmeshError(f"{rig}: an OBJ rig needs --targets DIR (one OBJ per shape target)")
        from talkmesh_jax.rig.obj_rig import obj_rig_to_glb

        return obj_rig_to_glb(rig, options.targets, scratch / f"{rig.stem}.glb")
    if options.targets is not None:
        raise TalkmeshError(f"{rig}: --targets is for an OBJ neutral; a glTF rig has its targets")
    return rig


def _surface_map(
    predicted: dict, rest: np.ndarray, rig: GltfRig, options: RetargetOptions
) -> tuple[SurfaceMap, dict | None]:
    """Where each landmark sits on the rig, and how it was fitted (None: not fitted here)."""
    if "landmarks" not in predicted:
        raise TalkmeshError("the run predicts no landmarks, so --by solve has nothing to solve")
    count = predicted["landmarks"].shape[1]
    if options.map is not None:
        return read_surface_map(options.map, count, len(rig.neutral)), None
    if options.anchors:
        from talkmesh_jax.rig.fit_map import fit_surface_map

        return fit_surface_map(rest, rig.neutral, rig.triangles, options.anchors)
    if options.rig is None:
        return SurfaceMap.of_vertices(np.arange(count)), None  # built-in: vertex i is landmark i
    raise TalkmeshError(
        f"{options.rig}: say where the landmarks sit on this rig: --anchors LANDMARK=VERTEX,… "
        "(at least 3, e.g. nose tip 1, chin 152, eye corners 33 and 263, mouth corners 61 and "
        "291) or --map MAP.json"
    )
