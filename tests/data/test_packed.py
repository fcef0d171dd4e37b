"""The packed, memory-mappable dataset form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.data.packed import concatenate_clips, load_packed, write_packed
from talkmesh_jax.data.windows import WindowSpec, create_batcher
from tests.helpers import random_clips


def test_round_trip_is_memory_mapped_and_equal(tmp_path, rng) -> None:
    clips = random_clips(rng, num_clips=3, num_vertices=478)
    write_packed(clips, tmp_path / "packed")
    loaded = load_packed(tmp_path / "packed")
    assert isinstance(loaded.landmarks, np.memmap) and not loaded.landmarks.flags.writeable
    for name in ("audio", "audio_offsets", "landmarks", "frame_offsets", "valid"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(clips, name))
    assert loaded.names == clips.names and loaded.num_vertices == 478
    spec = WindowSpec(window_frames=20, stride_frames=20, batch_size=1)
    a = create_batcher(loaded, spec).get_batch(0, 0)
    b = create_batcher(clips, spec).get_batch(0, 0)
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)


def test_write_is_atomic_and_refuses_to_overwrite(tmp_path, rng) -> None:
    clips = random_clips(rng)
    write_packed(clips, tmp_path / "packed")
    with pytest.raises(TalkmeshError, match="already exists"):
        write_packed(clips, tmp_path / "packed")
    write_packed(clips, tmp_path / "packed", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packed"]  # no temporary left


def test_failed_write_leaves_nothing(tmp_path, rng) -> None:
    clips = random_clips(rng)
    broken = concatenate_clips([clips.audio], [clips.landmarks], [clips.valid])
    object.__setattr__(broken, "names", [object()])  # not JSON-serialisable
    with pytest.raises(TypeError):
        write_packed(broken, tmp_path / "packed")
    assert list(tmp_path.iterdir()) == []


def test_load_errors_name_the_file(tmp_path, rng) -> None:
    with pytest.raises(TalkmeshError, match=r"pack.json: missing"):
        load_packed(tmp_path)
    write_packed(random_clips(rng), tmp_path / "p")
    (tmp_path / "p" / "valid.npy").write_bytes(b"not numpy")
    with pytest.raises(TalkmeshError, match=r"valid.npy: cannot be read"):
        load_packed(tmp_path / "p")
    (tmp_path / "p" / "pack.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(TalkmeshError, match="not a talkmesh-packed v1 file"):
        load_packed(tmp_path / "p")


def test_concatenate_checks_counts() -> None:
    with pytest.raises(ValueError, match="same, non-zero number"):
        concatenate_clips([np.zeros(640, np.float32)], [], [])
