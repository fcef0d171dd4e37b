"""Downloading the video list with yt-dlp (the optional `download` extra).

The shipped list is the original project's Obama weekly addresses (`resources/video_links.txt`).
Each video is saved as `<id>.mp4`, written under a temporary name by yt-dlp and renamed when
complete; videos already there are skipped. Failures (offline, removed video) are reported per
video and summarised; they never stop the run.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data_tools.jobs import Summary, describe_error
from talkmesh_jax.facemesh import resource_path

_ID = re.compile(r"(?:v=|youtu\.be/|/shorts/|/embed/)([A-Za-z0-9_-]{11})")


def read_video_list(path: str | os.PathLike | None = None) -> dict[str, str]:
    """{id: url} from a list with one URL (or bare 11-character id) per line; '#' comments."""
    text = resource_path("video_links.txt").read_text() if path is None else Path(path).read_text()
    videos = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _ID.search(line) or re.fullmatch(r"[A-Za-z0-9_-]{11}", line)
        if match is None:
            raise TalkmeshError(f"{path or 'video_links.txt'}:{number}: not a YouTube URL or id")
        video_id = match.group(1) if match.re is _ID else match.group(0)
        videos[video_id] = f"https://www.youtube.com/watch?v={video_id}"
    return videos


def _yt_dlp():
    try:
        import yt_dlp
    except ImportError:
        raise TalkmeshError(
            "yt-dlp is not installed (pip install 'talkmesh-jax[download]' or pip install yt-dlp)"
        ) from None
    return yt_dlp


class _Quiet:
    """yt-dlp logger that keeps its messages out of the progress output."""

    def debug(self, msg: str) -> None:
        pass

    info = warning = debug

    def error(self, msg: str) -> None:
        pass


def download(
    out_dir: str | os.PathLike,
    video_list: str | os.PathLike | None = None,
    limit: int | None = None,
    show_progress: bool = True,
) -> Summary:
    """Downloads every listed video to `out_dir/<id>.mp4` (mp4 with audio, ≤ 720p)."""
    from tqdm import tqdm

    yt_dlp = _yt_dlp()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    videos = list(read_video_list(video_list).items())[:limit]
    summary = Summary()
    start = time.perf_counter()
    options = {
        "format": "bv*[ext=mp4][height<=720]+ba[ext=m4a]/b[ext=mp4]/b",
        "merge_output_format": "mp4",
        "outtmpl": str(out_dir / "%(id)s.%(ext)s"),
        "logger": _Quiet(),
        "noprogress": True,
        "retries": 2,
        "socket_timeout": 20,
    }
    with yt_dlp.YoutubeDL(options) as ydl:
        for video_id, url in tqdm(videos, unit="video", disable=not show_progress):
            if (out_dir / f"{video_id}.mp4").exists():
                summary.skipped.append(video_id)
                continue
            try:
                ydl.download([url])
                summary.done.append(video_id)
            except Exception as err:  # noqa: BLE001 - yt-dlp raises its own DownloadError
                summary.failed[video_id] = f"{url}: {describe_error(err)}"
    summary.seconds = time.perf_counter() - start
    return summary
