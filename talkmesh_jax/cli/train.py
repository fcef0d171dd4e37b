"""The model subcommands of `talkmesh` (train, eval, export, plot); parsing only."""

from __future__ import annotations

import argparse
from pathlib import Path

from talkmesh_jax import TalkmeshError


def _resolved_config(args: argparse.Namespace):
    from talkmesh_jax.config import apply_overrides, load_config
    from talkmesh_jax.run_dir import RunDir

    path = args.config
    if path is None:
        path = RunDir(args.workdir).config
        if not path.exists():
            raise TalkmeshError(f"{args.workdir}: no config.json to resume from; pass --config")
    config = load_config(path)
    overrides = list(args.overrides)
    if args.data is not None:
        overrides.append(f"data.dataset={str(Path(args.data).absolute())!r}")
    if args.steps is not None:
        overrides.append(f"train.steps={args.steps}")
    apply_overrides(config, overrides)
    return config


def _train(args: argparse.Namespace) -> int:
    from talkmesh_jax.train.loop import train_and_evaluate

    record = train_and_evaluate(
        _resolved_config(args), args.workdir, not args.no_progress, args.force_resume
    )
    print(", ".join(f"{k} {v:.5g}" for k, v in record.items()))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from talkmesh_jax.inference.evaluate import evaluate, format_summary, write_results
    from talkmesh_jax.run_dir import RunDir

    summary, rows = evaluate(
        args.workdir,
        args.split,
        args.checkpoint,
        not args.no_progress,
        args.seed,
        args.temperature,
        recorded=not args.no_recorded,
        context=args.context,
    )
    json_path = Path(args.json or RunDir(args.workdir).beside(f"eval_{args.split}.json"))
    write_results(summary, rows, json_path, json_path.with_suffix(".csv"))
    print(format_summary(summary))
    print(f"written: {json_path} and {json_path.with_suffix('.csv')} (per clip)")
    return 0


def _export(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from talkmesh_jax.formats.glb import glb_summary
    from talkmesh_jax.inference.export import export_landmarks

    inputs = []

    def report(source: Path, files, reason, context) -> None:  # tqdm.write: above the progress bar
        inputs.append(source)
        if reason is not None:
            tqdm.write(f"talkmesh: error: {reason}", file=sys.stderr)
            return
        frames = files[0][1] if files else 0
        paths = ", ".join(str(path) for path, _ in files)
        context = f" (Whisper context {context})" if context else ""
        tqdm.write(f"{source}: {frames} frames{context} → {paths}", file=sys.stdout)
        for path, _ in files:
            if path.suffix == ".glb":
                tqdm.write(f"  {glb_summary(path)}", file=sys.stdout)

    _, failed = export_landmarks(
        args.workdir,
        args.audio,
        args.out,
        args.checkpoint,
        on_result=report,
        seed=args.seed,
        temperature=args.temperature,
        formats=args.format,
        show_progress=not args.no_progress,
        context=args.context,
    )
    if Path(args.audio).is_dir():
        done = len(inputs) - len(failed)
        print(f"exported {done} of {len(inputs)} inputs, {len(failed)} failed")
    return 1 if failed else 0


def _plot(args: argparse.Namespace) -> int:
    from talkmesh_jax.train.plot import plot_run

    print(f"wrote {plot_run(args.workdir, args.out)}")
    return 0


def add_sampling_arguments(p: argparse.ArgumentParser) -> None:
    """--seed and --temperature, for the runs of sampling models (MeshTalk)."""
    p.add_argument("--seed", type=int, default=0, help="sampling models (MeshTalk): the seed")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="sampling models: softmax temperature (0: argmax)",
    )


def add_model_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds train, eval, export, plot."""
    p = subparsers.add_parser("train", help="train (or resume) a model from a config")
    p.add_argument(
        "--config",
        help="tiny|original|large_gpu, a .py file or a config.json (default: RUN's own)",
    )
    p.add_argument(
        "--workdir", required=True, metavar="RUN", help="run folder (resumed if present)"
    )
    p.add_argument("--data", metavar="DIR", help="dataset folder (overrides data.dataset)")
    p.add_argument("--steps", type=int, help="training steps (overrides train.steps)")
    p.add_argument(
        "--force-resume",
        action="store_true",
        help="resume even if the data, reference faces or cosine schedule changed since the start",
    )
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.learning_rate=3e-4"
    )
    p.set_defaults(func=_train)

    p = subparsers.add_parser(
        "eval", help="LVE, MVE, FDD, MSEs (and blendshape errors) of a run and static baselines"
    )
    p.add_argument("--workdir", required=True, metavar="RUN")
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument("--checkpoint", default="best", help="best, latest or a step number")
    add_sampling_arguments(p)
    p.add_argument(
        "--json", metavar="OUT", help="summary JSON (default RUN.eval_<split>.json, beside RUN)"
    )
    p.add_argument(
        "--no-recorded",
        action="store_true",
        help="skip the recorded-speech test set (people's voices; synthetic-face runs only)",
    )
    p.add_argument(
        "--context",
        choices=["chunked", "trailing"],
        help="Whisper context of a run that trained on several (default: the run's own)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_eval)

    p = subparsers.add_parser(
        "export",
        help="a run's animation for audio files: npy, json, csv (ARKit curves), OBJ, mp4, HTML",
    )
    p.add_argument("--workdir", required=True, metavar="RUN")
    p.add_argument("--audio", required=True, help="an audio (or video) file, or a folder of them")
    p.add_argument(
        "--out",
        required=True,
        help="OUT.<format> (OUT names every output), or a folder (one set of outputs per input)",
    )
    p.add_argument(
        "--format",
        metavar="LIST",
        help="comma-separated: npy,json,csv,obj,mp4,html,glb (default: OUT's suffix, else npy)",
    )
    p.add_argument(
        "--context",
        default="auto",
        choices=["auto", "chunked", "trailing"],
        help="Whisper context of a run that trained on several: auto (the cheapest for each "
        "input's length) or one of them",
    )
    p.add_argument("--checkpoint", default="best", help="best, latest or a step number")
    add_sampling_arguments(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_export)

    p = subparsers.add_parser("plot", help="PNG of the training and validation curves of a run")
    p.add_argument("workdir", metavar="RUN")
    p.add_argument("--out", help="PNG path (default RUN.curves.png, beside RUN)")
    p.set_defaults(func=_plot)
