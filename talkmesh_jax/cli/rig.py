"""`talkmesh retarget` and `talkmesh rig`: a run's animation on a character's rig (parsing)."""

from __future__ import annotations

import argparse


def _retarget(args: argparse.Namespace) -> int:
    from talkmesh_jax.inference.retarget import retarget_run
    from talkmesh_jax.rig.solve import SolveOptions

    options = SolveOptions(l2=args.l2, l1=args.l1, smooth=args.smooth)
    summary = retarget_run(
        args.workdir, args.audio, args.out, args.rig, args.by, args.map, options, args.checkpoint
    )
    targets = len(summary["targets"])
    if args.by == "name":
        how = f"{summary['matched']} of {targets} rig targets matched by name"
        if summary["unmatched_rig"]:
            how += f"; not ARKit names (left at 0): {', '.join(summary['unmatched_rig'])}"
    else:
        how = f"{targets} targets solved from {summary['mapped_landmarks']} landmarks"
    print(f"{summary['frames']} frames at 25 fps, {how}")
    print("wrote " + ", ".join(summary["files"]))
    return 0


def _builtin(args: argparse.Namespace) -> int:
    from talkmesh_jax.rig.builtin_rig import TARGET_NAMES, write_builtin_rig

    write_builtin_rig(args.out)
    print(f"wrote {args.out}: MediaPipe's canonical face, {len(TARGET_NAMES)} ARKit-named targets")
    return 0


def add_rig_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "retarget",
        help="a run's speech animation on a rig's morph targets (glTF): .glb, weights CSV, wav",
    )
    p.add_argument("--workdir", required=True, metavar="RUN")
    p.add_argument("--audio", required=True, help="an audio (or video) file")
    p.add_argument("--out", required=True, help="OUT.glb (OUT.weights.csv and OUT.wav beside it)")
    p.add_argument("--rig", help="a .glb/.gltf with morph targets (default: the built-in rig)")
    p.add_argument(
        "--by",
        choices=["solve", "name"],
        default="solve",
        help="solve weights from the landmarks, or map the run's ARKit curves by target name",
    )
    p.add_argument("--map", help='JSON {"landmark_to_vertex": [...]}: the rig vertex per landmark')
    p.add_argument("--l2", type=float, default=1e-4, help="solve: L2 weight penalty")
    p.add_argument("--l1", type=float, default=0.0, help="solve: L1 (sparsity) penalty")
    p.add_argument("--smooth", type=float, default=0.0, help="solve: temporal smoothness")
    p.add_argument("--checkpoint", default="best", help="best, latest or a step number")
    p.set_defaults(func=_retarget)

    p = subparsers.add_parser("rig", help="write the built-in test rig as .glb")
    p.add_argument("out", metavar="OUT.glb")
    p.set_defaults(func=_builtin)
