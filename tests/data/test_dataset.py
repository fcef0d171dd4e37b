"""The dataset layout: the original's files and shapes, dataset.json, split, pack."""

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.cli import main
from talkmesh_jax.data.dataset import (
    Dataset,
    DatasetInfo,
    from_layout,
    make_split,
    read_split,
    save_array,
    save_clip,
    write_info,
)
from talkmesh_jax.data.packed import load_packed
from talkmesh_jax.data.packing import pack_dataset
from talkmesh_jax.data.windows import WindowSpec, create_batcher
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES, resource_path


def _write_clips(root, rng, layout="tv3", vertices=478, names=("a", "b", "c")):
    clips = {}
    for i, name in enumerate(names):
        frames = 20 + 5 * i
        clip = (
            rng.normal(size=frames * 640).astype(np.float32),
            rng.normal(size=(frames, vertices, 3)).astype(np.float32),
            rng.random(frames) > 0.2,
        )
        save_clip(root, name, *clip, layout=layout)
        clips[name] = clip
    return clips


@pytest.mark.parametrize("layout, vertices", [("tv3", 478), ("tv3", 468), ("t3v", 468)])
def test_layouts_round_trip(tmp_path, rng, layout, vertices):
    clips = _write_clips(tmp_path, rng, layout, vertices)
    on_disk = np.load(tmp_path / "landmarks" / "a.npy")
    assert on_disk.shape == ((20, vertices, 3) if layout == "tv3" else (20, 3, vertices))
    dataset = Dataset(tmp_path)  # no dataset.json: inferred like the original project's data
    assert (dataset.info.layout, dataset.info.num_landmarks) == (layout, vertices)
    for name, clip in clips.items():
        for got, want in zip(dataset.load_clip(name), clip, strict=True):
            np.testing.assert_array_equal(got, want)


def test_original_layout_reference_faces_read():
    face = np.load(str(resource_path("mean_face.npy")))
    assert face.shape == (3, 468)
    assert from_layout(face).shape == (468, 3)
    with pytest.raises(TalkmeshError, match="expected"):
        from_layout(np.zeros((10, 5, 7)), "x.npy")


def test_mismatched_clip_and_bad_dataset_json(tmp_path, rng):
    _write_clips(tmp_path, rng)
    np.save(tmp_path / "validity" / "b.npy", np.ones(3, bool))
    with pytest.raises(TalkmeshError, match="do not fit together"):
        Dataset(tmp_path).load_clip("b")
    (tmp_path / "dataset.json").write_text("{")
    with pytest.raises(TalkmeshError, match="not valid JSON"):
        Dataset(tmp_path)
    with pytest.raises(TalkmeshError, match="no such dataset directory"):
        Dataset(tmp_path / "missing")


def test_dataset_json_conflict_is_refused(tmp_path):
    write_info(tmp_path, DatasetInfo(fps=25))
    write_info(tmp_path, DatasetInfo(fps=25))  # same: fine
    with pytest.raises(TalkmeshError, match="refusing"):
        write_info(tmp_path, DatasetInfo(fps=30))


def test_split_by_clip():
    names = [f"v{i:03d}" for i in range(100)]
    split = make_split(names, 0.15, 0.15, seed=3)
    assert split == make_split(names, 0.15, 0.15, seed=3)
    counts = {p: list(split.values()).count(p) for p in ("train", "valid", "test")}
    assert counts == {"train": 70, "valid": 15, "test": 15}
    assert split != make_split(names, 0.15, 0.15, seed=4)
    with pytest.raises(ValueError):
        make_split(names, 0.6, 0.5)


def test_shipped_original_split():
    split = read_split(str(resource_path("train_test_split.txt")))
    counts = {p: list(split.values()).count(p) for p in ("train", "valid", "test")}
    assert counts == {"train": 210, "valid": 45, "test": 46}


def test_bad_split_line(tmp_path):
    (tmp_path / "split.txt").write_text("a.npy\ttrain\nb.npy\tholdout\n")
    with pytest.raises(TalkmeshError, match=r"split.txt:2:"):
        read_split(tmp_path / "split.txt")


def test_split_command_and_pack_a_part(tmp_path, rng, capsys):
    clips = _write_clips(tmp_path, rng, names=[f"c{i}" for i in range(10)])
    assert main(["split", str(tmp_path), "--valid", "0.2", "--test", "0.1"]) == 0
    assert "train 7, valid 2, test 1" in capsys.readouterr().out
    dataset = Dataset(tmp_path)
    train = dataset.names_in("train")
    out = pack_dataset(dataset, tmp_path / "packed", "train", 468, show_progress=False)
    packed = load_packed(out)
    assert packed.names == train and packed.num_vertices == 468
    for i, name in enumerate(train):
        np.testing.assert_array_equal(packed.clip_frames(i), clips[name][1][:, :468])
        start, stop = packed.audio_offsets[i : i + 2]
        np.testing.assert_array_equal(packed.audio[start:stop], clips[name][0])
    with pytest.raises(TalkmeshError, match="already exists"):
        pack_dataset(dataset, out, "train", show_progress=False)
    assert main(["split", str(tmp_path), "--original"]) == 1
    assert "none of its clips" in capsys.readouterr().err


def test_blendshapes_are_optional_and_packed_with_the_clips(tmp_path, rng):
    """A dataset made before blendshapes (no names in dataset.json) loads and packs as before;
    one with them packs them, and batches carry them for each row's frames."""
    clips = _write_clips(tmp_path, rng, names=[f"c{i}" for i in range(4)])
    write_info(tmp_path, DatasetInfo())  # an old dataset.json: no blendshape_names
    old = Dataset(tmp_path)
    assert not old.has_blendshapes
    with pytest.raises(TalkmeshError, match="has no blendshapes"):
        old.load_blendshapes("c0")
    assert load_packed(pack_dataset(old, tmp_path / "p0", show_progress=False)).blendshapes is None

    names = tuple(BLENDSHAPE_NAMES)
    write_info(tmp_path, DatasetInfo(blendshape_names=names))  # the old dataset gains the names
    values = {}
    for name, (_, _, valid) in clips.items():
        values[name] = rng.random((len(valid), 52)).astype(np.float32)
        save_array(tmp_path / "blendshapes" / f"{name}.npy", values[name])
    dataset = Dataset(tmp_path)
    assert dataset.info.blendshape_names == names
    packed = load_packed(pack_dataset(dataset, tmp_path / "p1", show_progress=False))
    assert packed.blendshape_names == names and packed.blendshapes.shape == (packed.num_frames, 52)
    spec = WindowSpec(window_frames=7, stride_frames=3, batch_size=5, drop_remainder=False)
    batcher = create_batcher(packed, spec)
    rows = 0
    for index in range(batcher.num_batches(0)):
        batch = batcher.get_batch(0, index)
        assert batch["blendshapes"].shape == (5, 7, 52)
        for row, (clip, start) in enumerate(zip(batch["clip"], batch["start"], strict=True)):
            if clip < 0:  # padding of the last batch
                assert not batch["blendshapes"][row].any()
                continue
            want = values[packed.names[clip]][start : start + 7]
            np.testing.assert_array_equal(batch["blendshapes"][row], want)
            rows += 1
    assert rows == batcher.num_windows(0) > 5
    bad = tmp_path / "blendshapes" / "c1.npy"
    np.save(bad, np.zeros((3, 52), np.float32))
    with pytest.raises(TalkmeshError, match="c1.npy: 3 frames, the clip has"):
        pack_dataset(dataset, tmp_path / "p2", show_progress=False)
