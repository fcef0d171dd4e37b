"""`talkmesh retarget` and `talkmesh rig …`: a run's animation on a character's rig (parsing)."""

from __future__ import annotations

import argparse


def _retarget(args: argparse.Namespace) -> int:
    from talkmesh_jax.inference.retarget import RetargetOptions, parse_limits, retarget_run
    from talkmesh_jax.rig.fit_map import parse_anchors
    from talkmesh_jax.rig.solve import SolveOptions

    options = RetargetOptions(
        rig=args.rig,
        targets=args.targets,
        by=args.by,
        map=args.map,
        anchors=parse_anchors(args.anchors) if args.anchors else None,
        limits=parse_limits(args.limits) if args.limits else {},
        solve=SolveOptions(l2=args.l2, l1=args.l1, smooth=args.smooth),
        checkpoint=args.checkpoint,
    )
    summary = retarget_run(args.workdir, args.audio, args.out, options)
    targets = len(summary["targets"])
    if args.by == "name":
        how = f"{summary['matched']} of {targets} rig targets matched by name"
        if summary["unmatched_rig"]:
            how += f"; not ARKit names (left at 0): {', '.join(summary['unmatched_rig'])}"
    else:
        how = f"{targets} targets solved from {summary['mapped_landmarks']} landmarks"
        if "map_fit" in summary:
            how += "; " + _fit_line(summary["map_fit"])
    print(f"{summary['frames']} frames at 25 fps, {how}")
    print("wrote " + ", ".join(summary["files"]))
    return 0


def _fit_line(report: dict) -> str:
    mean = report["mean_distance"]
    return (
        f"map fitted from {report['anchors']} anchors (landmarks {mean:.4g} rig units from the "
        f"surface on average, {report['unmapped']} too far to map)"
    )


def _builtin(args: argparse.Namespace) -> int:
    from pathlib import Path

    from talkmesh_jax.rig.builtin_rig import (
        TARGET_NAMES,
        write_builtin_obj_rig,
        write_builtin_rig,
    )

    about = f"MediaPipe's canonical face, {len(TARGET_NAMES)} ARKit-named targets"
    if Path(args.out).suffix.lower() == ".obj":
        neutral, folder = write_builtin_obj_rig(args.out)
        print(f"wrote {neutral} (the neutral) and {folder}/ (one OBJ per target): {about}")
    else:
        write_builtin_rig(args.out)
        print(f"wrote {args.out}: {about}")
    return 0


def _map(args: argparse.Namespace) -> int:
    from talkmesh_jax.rig.fit_map import map_for_rig

    report = map_for_rig(args.rig, args.anchors, args.out, args.landmarks)
    print(
        f"{args.landmarks - report['unmapped']} of {args.landmarks} landmarks mapped; "
        + _fit_line(report)
    )
    print(f"wrote {args.out} (one landmark per line: null, a vertex, or [[a, b, c], [weights]])")
    return 0


def _add_rig_input(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument(
        "--rig",
        required=required,
        help="a .glb/.gltf with morph targets, or a neutral .obj with --targets"
        + ("" if required else " (default: the built-in rig)"),
    )
    p.add_argument("--targets", metavar="DIR", help="OBJ rig: one .obj per shape target")


def add_rig_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "retarget",
        help="a run's speech on a rig's morph targets: .glb, weights and Live Link CSV, wav",
    )
    p.add_argument("--workdir", required=True, metavar="RUN")
    p.add_argument("--audio", required=True, help="an audio (or video) file")
    p.add_argument("--out", required=True, help="OUT.glb (OUT.weights.csv, … beside it)")
    _add_rig_input(p, required=False)
    p.add_argument(
        "--by",
        choices=["solve", "name"],
        default="solve",
        help="solve weights from the landmarks, or map the run's ARKit curves by target name",
    )
    p.add_argument("--map", help="a landmark map JSON (talkmesh rig map writes one)")
    p.add_argument(
        "--anchors",
        help="LANDMARK=VERTEX,… (≥ 3): compute the map (saved as OUT.map.json)",
    )
    p.add_argument("--limits", help="NAME=LOWER:UPPER,… per-target weight limits (default 0:1)")
    p.add_argument("--l2", type=float, default=1e-4, help="solve: L2 weight penalty")
    p.add_argument("--l1", type=float, default=0.0, help="solve: L1 (sparsity) penalty")
    p.add_argument("--smooth", type=float, default=0.0, help="solve: temporal smoothness")
    p.add_argument("--checkpoint", default="best", help="best, latest or a step number")
    p.set_defaults(func=_retarget)

    rig = subparsers.add_parser("rig", help="rig tools: the built-in test rig, landmark maps")
    commands = rig.add_subparsers(dest="rig_command", required=True, metavar="{builtin,map}")
    p = commands.add_parser(
        "builtin", help="write the built-in test rig as .glb, or as OBJ files (OUT.obj)"
    )
    p.add_argument(
        "out", metavar="OUT.glb|OUT.obj", help="OUT.obj: the neutral, targets in OUT_targets/"
    )
    p.set_defaults(func=_builtin)
    p = commands.add_parser(
        "map", help="compute where each landmark sits on a rig from a few anchor vertices"
    )
    p.add_argument("--rig", required=True, help="a .glb/.gltf, or the neutral .obj of an OBJ rig")
    p.add_argument("--anchors", required=True, help="LANDMARK=VERTEX,… (at least 3)")
    p.add_argument("--out", required=True, metavar="MAP.json")
    p.add_argument("--landmarks", type=int, choices=[468, 478], default=478)
    p.set_defaults(func=_map)
