"""The data subcommands of `talkmesh` (videos → dataset → packed); argument parsing only."""

from __future__ import annotations

import argparse

from talkmesh_jax import FPS, TalkmeshError


def _finish(args: argparse.Namespace, summary, what: str = "videos") -> int:
    """Prints a batch summary (and writes it as JSON); exit status 1 if anything failed."""
    from talkmesh_jax.fileio import write_json

    print(summary.format(what))
    if getattr(args, "json", None):
        write_json(args.json, summary.to_json())
    return 1 if summary.failed else 0


def _extract(args: argparse.Namespace, normalise: bool = True, landmarks: bool = True) -> int:
    from talkmesh_jax.data_tools.extract import ExtractOptions, extract

    fps = getattr(args, "fps", None)
    if fps is None:  # landmarks only: the fps the videos were normalised to
        from talkmesh_jax.data.dataset import Dataset

        fps = Dataset(args.data).info.fps
    options = ExtractOptions(
        fps=fps,
        num_landmarks=getattr(args, "landmarks", 478),
        layout=getattr(args, "layout", "tv3"),
        overwrite=args.overwrite,
    )
    videos = getattr(args, "videos", None)
    summary = extract(
        videos, args.data, options, args.workers, normalise, landmarks, not args.no_progress
    )
    return _finish(args, summary)


def _download(args: argparse.Namespace) -> int:
    from talkmesh_jax.data_tools.download import download

    return _finish(args, download(args.out, args.list, args.limit, not args.no_progress))


def _split(args: argparse.Namespace) -> int:
    from talkmesh_jax.data.dataset import Dataset, make_split, read_split, write_split
    from talkmesh_jax.facemesh import resource_path

    dataset = Dataset(args.data)
    names = dataset.clip_names()
    if args.original:
        original = read_split(str(resource_path("train_test_split.txt")))
        split = {n: original[n] for n in names if n in original}
        if not split:
            raise TalkmeshError(f"{dataset.root}: none of its clips are in the original split")
        if len(split) < len(names):
            print(f"{len(names) - len(split)} clips are not in the original split, left out")
    else:
        split = make_split(names, args.valid, args.test, args.seed)
    path = dataset.root / "train_test_split.txt"
    write_split(path, split)
    counts = {p: sum(v == p for v in split.values()) for p in ("train", "valid", "test")}
    print(f"{path}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _reference(args: argparse.Namespace) -> int:
    from talkmesh_jax.data.dataset import Dataset
    from talkmesh_jax.data_tools.reference_faces import reference_faces, write_reference_faces

    dataset = Dataset(args.data)
    names = dataset.names_in(args.split)
    faces = reference_faces(dataset, names, args.close_frames, not args.no_progress)
    for path in write_reference_faces(dataset, faces):
        print(f"wrote {path}")
    return 0


def _pack(args: argparse.Namespace) -> int:
    from talkmesh_jax.data.dataset import Dataset
    from talkmesh_jax.data.packing import pack_dataset

    out = pack_dataset(
        Dataset(args.data),
        args.out,
        args.split,
        args.landmarks,
        args.overwrite,
        not args.no_progress,
    )
    print(f"packed into {out}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from talkmesh_jax.data.dataset import Dataset
    from talkmesh_jax.data_tools.inspect_dataset import dataset_stats, format_stats, write_picture
    from talkmesh_jax.fileio import write_json

    dataset = Dataset(args.data)
    stats = dataset_stats(dataset, not args.no_progress)
    print(format_stats(stats))
    png = args.png or dataset.root / "inspect.png"
    print(f"picture: {write_picture(dataset, stats, png)}")
    if args.json:
        write_json(args.json, {k: v for k, v in stats.items() if k != "mouth_opening_cm"})
    return 0


def _synth(args: argparse.Namespace) -> int:
    from talkmesh_jax.data.synth import Degradation, synth_dataset

    levels = args.mesh_levels if args.mesh_levels is not None else (2 if args.mesh else 0)
    if args.invalid_runs is not None and args.invalid_runs < 0 or args.noise_cm < 0:
        raise TalkmeshError("--invalid-runs and --noise-cm must not be negative")
    degradation = Degradation(args.invalid_runs, args.noise_cm)
    dataset = synth_dataset(
        args.data, args.clips, args.seed, not args.no_progress, levels, args.drive, degradation
    )
    kind = f"registered-mesh ({dataset.info.num_landmarks} vertices)" if levels else "synthetic"
    print(f"{dataset.root}: {len(dataset.clip_names())} {kind} clips")
    return 0


def _common(parser: argparse.ArgumentParser, workers: bool = False, json: bool = False) -> None:
    if workers:
        parser.add_argument("--workers", type=int, default=1, help="parallel processes")
        parser.add_argument("--overwrite", action="store_true", help="redo videos already done")
    if json:
        parser.add_argument("--json", metavar="OUT", help="also write the summary as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _landmark_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--landmarks", type=int, choices=[468, 478], default=478)
    parser.add_argument(
        "--layout",
        choices=["tv3", "t3v"],
        default="tv3",
        help="landmark files as [T, V, 3] (tv3) or the original project's [T, 3, V] (t3v)",
    )


def add_data_commands(subparsers: argparse._SubParsersAction) -> None:
    """Adds download, normalise, landmarks, extract, split, reference, pack, inspect, synth."""
    p = subparsers.add_parser("download", help="download the video list with yt-dlp")
    p.add_argument("out", metavar="VIDEOS", help="folder for <id>.mp4")
    p.add_argument("--list", help="file of YouTube URLs or ids (default: the Obama addresses)")
    p.add_argument("--limit", type=int, help="only the first N videos")
    _common(p, json=True)
    p.set_defaults(func=_download)

    p = subparsers.add_parser(
        "extract", help="videos → dataset: normalise, MediaPipe landmarks, metric landmarks"
    )
    p.add_argument("videos", metavar="VIDEOS", help="folder of videos (or one video file)")
    p.add_argument("data", metavar="DATA", help="dataset folder (created or resumed)")
    p.add_argument("--fps", type=int, default=FPS, help="frame rate of the normalised video")
    _landmark_options(p)
    _common(p, workers=True, json=True)
    p.set_defaults(func=_extract)

    p = subparsers.add_parser(
        "normalise", help="videos → DATA/videos (constant fps) and DATA/audios (16 kHz .npy)"
    )
    p.add_argument("videos", metavar="VIDEOS")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--fps", type=int, default=FPS)
    _common(p, workers=True, json=True)
    p.set_defaults(func=lambda a: _extract(a, landmarks=False))

    p = subparsers.add_parser(
        "landmarks", help="MediaPipe + metric landmarks of the normalised videos in DATA"
    )
    p.add_argument("data", metavar="DATA")
    _landmark_options(p)
    _common(p, workers=True, json=True)
    p.set_defaults(func=lambda a: _extract(a, normalise=False))

    p = subparsers.add_parser("split", help="write DATA/train_test_split.txt (split by video)")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--valid", type=float, default=0.15, help="fraction of clips for validation")
    p.add_argument("--test", type=float, default=0.15, help="fraction of clips for test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--original", action="store_true", help="the original project's Obama split")
    p.set_defaults(func=_split)

    p = subparsers.add_parser("reference", help="mean_face and close_mouth_face of a dataset")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--split", choices=["train", "valid", "test"], help="only clips of this part")
    p.add_argument("--close-frames", type=int, default=250, help="frames in the close-mouth mean")
    _common(p)
    p.set_defaults(func=_reference)

    p = subparsers.add_parser("pack", help="dataset → packed, memory-mappable files for training")
    p.add_argument("data", metavar="DATA")
    p.add_argument("out", metavar="PACKED")
    p.add_argument("--split", choices=["train", "valid", "test"], help="only clips of this part")
    p.add_argument("--landmarks", type=int, choices=[468, 478], help="keep the first N landmarks")
    p.add_argument("--overwrite", action="store_true")
    _common(p)
    p.set_defaults(func=_pack)

    p = subparsers.add_parser("inspect", help="counts, hours, validity; PNG of face and mouth")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--png", help="picture path (default DATA/inspect.png)")
    _common(p, json=True)
    p.set_defaults(func=_inspect)

    p = subparsers.add_parser("synth", help="synthetic speech (espeak-ng) + face dataset")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--clips", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--mesh",
        action="store_true",
        help="registered meshes (the canonical face subdivided twice: 7,257 vertices) instead "
        "of landmarks, with masks/ and template.obj",
    )
    p.add_argument("--mesh-levels", type=int, help="subdivision levels of --mesh (1: 1,833)")
    p.add_argument(
        "--drive",
        choices=["loudness", "phonemes"],
        default="loudness",
        help="what moves the mouth: a per-frame loudness/brightness rule, or the phonemes "
        "espeak-ng speaks with their timing (lips close on p/b/m, round on oo/w, jaw drops on "
        "open vowels; needs speech content to learn)",
    )
    p.add_argument(
        "--invalid-runs",
        type=int,
        help="runs of 2-7 invalid (zeroed) frames in every clip, as extraction leaves them "
        "(default: one run in half the clips)",
    )
    p.add_argument(
        "--noise-cm", type=float, default=0.0, help="landmark noise, std per coordinate (cm)"
    )
    _common(p)
    p.set_defaults(func=_synth)
