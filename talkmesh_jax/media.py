"""ffmpeg and ffprobe: probing media files, decoding audio, re-encoding video.

The one way the project reads audio and video files. Every failure is a TalkmeshError whose message
names the file and says what is wrong in one line (ffmpeg's own last line of stderr included).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, SAMPLE_RATE, TalkmeshError

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".opus")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v")


def tool_path(name: str) -> str:
    """The path of ffmpeg or ffprobe; missing is a TalkmeshError saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise TalkmeshError(f"{name} not found on PATH (install ffmpeg: apt-get install ffmpeg)")
    return path


def last_error_line(stderr: bytes, path: Path) -> str:
    """The last non-empty line of a tool's stderr, without a leading `path: `."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    line = lines[-1] if lines else "unknown error"
    return line.removeprefix(f"{path}: ")


def run_tool(args: list[str], path: Path, what: str) -> bytes:
    """Runs a tool on `path` → its stdout; a failure is `path: <what> failed: <its last line>`."""
    result = subprocess.run(args, capture_output=True, check=False)
    if result.returncode != 0:
        raise TalkmeshError(f"{path}: {what} failed: {last_error_line(result.stderr, path)}")
    return result.stdout


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file. duration in seconds; fps of the first video stream."""

    path: Path
    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    sample_rate: int = 0
    channels: int = 0


def _rate(text: str) -> float:
    num, _, den = text.partition("/")
    return float(num) / float(den) if den and float(den) else float(num or 0)


def probe(path: str | os.PathLike) -> MediaInfo:
    """Streams and duration of a media file; an unreadable file is a TalkmeshError."""
    path = Path(path)
    if not path.is_file():
        raise TalkmeshError(f"{path}: no such file")
    out = run_tool(
        [tool_path("ffprobe"), "-v", "error", "-print_format", "json", "-show_format"]
        + ["-show_streams", str(path)],
        path,
        "probing",
    )
    info = json.loads(out or b"{}")
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise TalkmeshError(f"{path}: not a media file (no audio or video stream)")
    duration = float(info.get("format", {}).get("duration") or 0.0)
    return MediaInfo(
        path=path,
        duration=duration,
        has_video=video is not None,
        has_audio=audio is not None,
        width=int(video.get("width", 0)) if video else 0,
        height=int(video.get("height", 0)) if video else 0,
        fps=_rate(video.get("avg_frame_rate", "0")) if video else 0.0,
        sample_rate=int(audio.get("sample_rate", 0)) if audio else 0,
        channels=int(audio.get("channels", 0)) if audio else 0,
    )


def _decode_args(path: Path, sample_rate: int) -> list[str]:
    return [tool_path("ffmpeg"), "-nostdin", "-v", "error", "-xerror", "-i", str(path)] + [
        "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate),
        "-f", "f32le", "-acodec", "pcm_f32le", "-",
    ]  # fmt: skip


def stream_audio(
    path: str | os.PathLike, sample_rate: int = SAMPLE_RATE, chunk_seconds: float = 10.0
) -> Iterator[np.ndarray]:
    """Decodes the first audio stream of any file ffmpeg reads, resampled and down-mixed, as it
    goes: chunks [n] float32 in [-1, 1], mono, at `sample_rate` Hz, about `chunk_seconds` each
    (memory stays flat for any length). A file that fails to decode, or decodes to nothing, is a
    TalkmeshError naming it (raised when it is found, possibly after some chunks)."""
    path = Path(path)
    if not path.is_file():
        raise TalkmeshError(f"{path}: no such file")
    chunk_bytes = max(4, int(chunk_seconds * sample_rate) * 4)
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            _decode_args(path, sample_rate), stdout=subprocess.PIPE, stderr=stderr
        )
        total = 0
        try:
            while data := _read_exactly(process.stdout, chunk_bytes):
                total += len(data) // 4
                yield np.frombuffer(data[: len(data) // 4 * 4], np.float32).copy()
        except BaseException:  # the reader stopped early (or failed): stop ffmpeg too
            process.kill()
            raise
        finally:
            process.stdout.close()
            code = process.wait()
        if code != 0:
            stderr.seek(0)
            reason = last_error_line(stderr.read(), path)
            raise TalkmeshError(f"{path}: decoding audio failed: {reason}")
    if total == 0:
        raise TalkmeshError(f"{path}: no audio samples decoded")


def _read_exactly(stream, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The whole of `stream_audio(path)`: [S] float32 in [-1, 1], mono, at `sample_rate` Hz."""
    return np.concatenate(list(stream_audio(path, sample_rate)))


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Writes [S] float audio in [-1, 1] as 16-bit PCM mono WAV."""
    import wave

    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())


def normalise_video(
    source: str | os.PathLike, target: str | os.PathLike, fps: int = FPS, crf: int = 18
) -> None:
    """Re-encodes `source` to constant `fps` H.264 (yuv420p) with AAC audio, into `target`.

    Frames are dropped or duplicated by ffmpeg's fps filter, so frame i shows time i / fps.
    Any decoding error (a truncated or corrupt file) fails the whole file (`-xerror`) rather than
    yielding a silently shortened video.
    """
    source = Path(source)
    run_tool(
        [tool_path("ffmpeg"), "-nostdin", "-v", "error", "-xerror", "-y", "-i", str(source)]
        + ["-map", "0:v:0", "-map", "0:a:0?", "-vf", f"fps={fps}", "-c:v", "libx264"]
        + ["-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
        + ["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(target)],
        source,
        "re-encoding",
    )
