"""`talkmesh stream`: audio from a file (at real-time pace) or raw 16 kHz PCM on stdin, through a
`Streamer`, frames written as they are ready: JSON lines (one frame per line) or .npy (a file:
one array [T, V, 3], header last; stdout: one array per block, read with repeated np.load)."""

from __future__ import annotations

import json
import math
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from talkmesh_jax import FPS, SAMPLE_RATE, TalkmeshError
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES
from talkmesh_jax.fileio import PendingPath
from talkmesh_jax.formats.arrays import NpyWriter
from talkmesh_jax.inference.export import face_info
from talkmesh_jax.inference.streaming import LatencyMeter, Streamer
from talkmesh_jax.media import stream_audio
from talkmesh_jax.targets import TargetLayout

FRAME_MS = 1000.0 / FPS

PCM_DTYPES = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}
STREAM_FORMATS = ("jsonl", "npy")


@dataclass(frozen=True)
class StreamOptions:
    audio: str = "-"  # a file, or "-": raw mono 16 kHz PCM on stdin
    out: str = "-"  # a .jsonl or .npy file, or "-": stdout
    format: str | None = None  # jsonl | npy (None: the suffix of out, else jsonl)
    lookahead_ms: float | None = None  # None: the model's own (exact)
    chunk_ms: float = 20.0
    pace: bool = True  # a file is read at real-time pace
    pcm: str = "s16le"

    def __post_init__(self):
        if self.lookahead_ms is not None and not self.lookahead_ms >= 0:
            raise TalkmeshError(f"--lookahead-ms {self.lookahead_ms:g}: must be 0 or more")
        if not self.chunk_ms > 0:
            raise TalkmeshError(f"--chunk-ms {self.chunk_ms:g}: must be more than 0")

    @property
    def lookahead_frames(self) -> int | None:
        """The look-ahead in whole frames (rounded up; None: the model's own)."""
        return None if self.lookahead_ms is None else math.ceil(self.lookahead_ms / FRAME_MS)


TimedChunk = tuple[np.ndarray, float]  # (pcm [n] float32, when its last sample arrived, s)


def stdin_chunks(stream: BinaryIO, pcm: str, chunk_samples: int) -> Iterator[TimedChunk]:
    """Raw PCM from a binary stream → float32 chunks (the last one shorter), each stamped with
    the moment it was read. A reader thread reads all the time, so a consumer that falls behind
    sees the backlog in its latencies instead of hiding it in the pipe's buffer."""
    dtype = PCM_DTYPES[pcm]
    scale = 1.0 / 32768.0 if pcm == "s16le" else 1.0
    read = getattr(stream, "read1", stream.read)  # read1: what has arrived so far
    arrived: queue.Queue = queue.Queue()

    def reader() -> None:
        left = b""
        try:
            while data := read(chunk_samples * dtype.itemsize):
                now = time.perf_counter()
                data = left + data
                usable = len(data) // dtype.itemsize * dtype.itemsize
                left = data[usable:]
                if usable:
                    samples = np.frombuffer(data[:usable], dtype).astype(np.float32) * scale
                    arrived.put((samples, now))
        finally:
            arrived.put(None)

    threading.Thread(target=reader, daemon=True, name="stdin-reader").start()
    while (item := arrived.get()) is not None:
        yield item


def paced(
    chunks: Iterable[np.ndarray], clock=time.perf_counter, sleep=time.sleep
) -> Iterator[TimedChunk]:
    """Plays a file in real time: each chunk with the moment its last sample would have been
    spoken (start + end / 16 kHz), yielded no earlier. A consumer that falls behind gets the
    chunks at once, still stamped with their real-time arrival."""
    start, samples = clock(), 0
    for chunk in chunks:
        samples += len(chunk)
        due = start + samples / SAMPLE_RATE
        delay = due - clock()
        if delay > 0:
            sleep(delay)
        yield chunk, due


def unpaced(chunks: Iterable[np.ndarray]) -> Iterator[TimedChunk]:
    """Each chunk stamped with the moment it was read (as fast as it can be)."""
    for chunk in chunks:
        yield chunk, time.perf_counter()


class FrameSink:
    """Frames out as JSON lines or .npy, to a file (atomically) or stdout. A .npy file is
    written as export writes it: OUT.npy landmarks [T, V, 3] and, for runs that predict them,
    OUT.blendshapes.npy [T, K]."""

    def __init__(self, out: str, fmt: str, layout: TargetLayout):
        self.fmt, self.frames = fmt, 0
        self.pending, self.npy = None, None
        if fmt == "npy" and out != "-":
            self.npy = NpyWriter(Path(out), face_info(layout, None, Path(out)))
            return
        self.pending = None if out == "-" else PendingPath(out)
        self.file = sys.stdout.buffer if out == "-" else open(self.pending.tmp, "wb")

    def write(self, block: dict[str, np.ndarray]) -> None:
        count = len(next(iter(block.values())))
        if count == 0:
            return
        if self.npy is not None:
            self.npy.write(block)
            self.frames += count
            return
        main = block.get("landmarks", block.get("blendshapes"))
        if self.fmt == "npy":
            np.save(self.file, main.astype(np.float32))
        else:
            lines = []
            for i in range(count):
                t = self.frames + i
                row: dict = {"frame": t, "time_s": round(t / FPS, 3)}
                if "landmarks" in block:
                    row["landmarks"] = np.round(
                        block["landmarks"][i].astype(np.float64), 6
                    ).tolist()
                if "blendshapes" in block:
                    values = np.round(block["blendshapes"][i].astype(np.float64), 6).tolist()
                    row["blendshapes"] = dict(zip(BLENDSHAPE_NAMES, values, strict=False))
                lines.append(json.dumps(row) + "\n")
            self.file.write("".join(lines).encode())
        self.file.flush()
        self.frames += count

    def close(self) -> Path | None:
        if self.npy is not None:
            return self.npy.finish()[0]
        if self.pending is not None:
            self.file.close()
        return self.pending.commit() if self.pending is not None else None

    def discard(self) -> None:
        if self.npy is not None:
            self.npy.discard()
        elif self.pending is not None:
            self.file.close()
            self.pending.discard()


def stream_format(options: StreamOptions) -> str:
    if options.format is not None:
        if options.format not in STREAM_FORMATS:
            raise TalkmeshError(f"--format {options.format!r}: use one of {STREAM_FORMATS}")
        return options.format
    suffix = Path(options.out).suffix.lstrip(".")
    if options.out != "-" and suffix not in STREAM_FORMATS:
        raise TalkmeshError(f"{options.out}: the output of stream is .jsonl or .npy")
    return suffix if options.out != "-" else "jsonl"


def audio_chunks(options: StreamOptions) -> Iterable[TimedChunk]:
    """The input as chunks of `chunk_ms`, each stamped with its arrival on the real-time clock
    (of the pacing, or of stdin)."""
    chunk = max(1, int(options.chunk_ms * SAMPLE_RATE / 1000))
    if options.pcm not in PCM_DTYPES:
        raise TalkmeshError(f"--pcm {options.pcm!r}: use one of {sorted(PCM_DTYPES)}")
    if options.audio == "-":
        return stdin_chunks(sys.stdin.buffer, options.pcm, chunk)
    pieces = _rechunk(stream_audio(options.audio, chunk_seconds=1.0), chunk)
    return paced(pieces) if options.pace else unpaced(pieces)


def _rechunk(chunks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    for chunk in chunks:
        for i in range(0, len(chunk), size):
            yield chunk[i : i + size]


def run_stream(
    streamer: Streamer, chunks: Iterable[TimedChunk], sink: FrameSink, chunk_ms: float = 20.0
) -> dict:
    """Pushes every chunk, writes what comes out → {frames, seconds, wall_s, rtf, lookahead_ms,
    latency_ms (mean, p95, max, frames, late), out}. A frame's latency runs from the arrival of
    its last audio sample (the chunk's stamp) to the moment its block has been written."""
    meter = LatencyMeter(late_after_ms=streamer.max_wait_ms + chunk_ms + FRAME_MS)
    total = 0
    start = time.perf_counter()
    try:
        for chunk, arrived in chunks:
            total += len(chunk)
            meter.arrived(total, arrived)
            first = streamer.emitted
            sink.write(streamer.push(chunk))
            meter.written(first, streamer.emitted - first, time.perf_counter())
        if total == 0:
            raise TalkmeshError("stdin: no audio samples")
        first = streamer.emitted
        sink.write(streamer.flush())
        meter.written(first, streamer.emitted - first, time.perf_counter())
    except BaseException:
        sink.discard()
        raise
    wall = time.perf_counter() - start
    return {
        "frames": streamer.emitted,
        "seconds": total / SAMPLE_RATE,
        "wall_s": wall,
        "rtf": (total / SAMPLE_RATE) / max(wall, 1e-9),
        "lookahead_ms": streamer.lookahead_ms,
        "latency_ms": meter.summary_ms(),
        "out": sink.close(),
    }
