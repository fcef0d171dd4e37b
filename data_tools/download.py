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


def _parse_line(line: str) -> tuple[str, str] | None:
    """(id, url) of a YouTube URL, a bare 11-character YouTube id, or any other http(s) URL
    (id: the file name's stem)."""
    if match := _ID.search(line):
        return match.group(1), f"https://www.youtube.com/watch?v={match.group(1)}"
    if re.fullmatch(r"[A-Za-z0-9_-]{11}", line):
        return line, f"https://www.youtube.com/watch?v={line}"
    if re.match(r"https?://", line):
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", Path(line.split("?")[0].rstrip("/")).stem)
        return (stem or None), line
    return None


def read_video_list(path: str | os.PathLike | None = None) -> dict[str, str]:
    """{id: url} from a list with one URL or YouTube id per line; '#' starts a comment."""
    if path is None:
        text, where = resource_path("video_links.txt").read_text(), "video_links.txt"
    else:
        if not Path(path).is_file():
            raise TalkmeshError(f"{path}: no such video list")
        text, where = Path(path).read_text(), str(path)
    videos = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parsed = _parse_line(line)
        if parsed is None or parsed[0] is None:
            raise TalkmeshError(f"{where}:{number}: not a URL or YouTube id: {line!r}")
        videos[parsed[0]] = parsed[1]
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

    videos = list(read_video_list(video_list).items())[:limit]  # a bad list fails first
    yt_dlp = _yt_dlp()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    start = time.perf_counter()
    options = {
        "format": "bv*[ext=mp4][height<=720]+ba[ext=m4a]/b[ext=mp4]/b",
        "merge_output_format": "mp4",
        "logger": _Quiet(),
        "noprogress": True,
        "retries": 2,
        "socket_timeout": 20,
    }
    for video_id, url in tqdm(videos, unit="video", disable=not show_progress):
        if (out_dir / f"{video_id}.mp4").exists():  # yt-dlp renames only when complete
            summary.skipped.append(video_id)
            continue
        try:
            with yt_dlp.YoutubeDL(
                {**options, "outtmpl": str(out_dir / f"{video_id}.%(ext)s")}
            ) as y:
                y.download([url])
            summary.done.append(video_id)
        except Exception as err:  # noqa: BLE001 - yt-dlp raises its own DownloadError
            summary.failed[video_id] = f"{url}: {describe_error(err)}"
    summary.seconds = time.perf_counter() - start
    return summary
