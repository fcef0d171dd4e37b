"""Rigs as glTF 2.0 (`.glb`/`.gltf`, read and written with pygltflib): a mesh with morph targets.

`read_rig` takes the first mesh that has morph targets: its first primitive's POSITION (the
neutral, [V, 3]) and each target's POSITION deltas ([V, 3], dense or sparse accessors), named by
the mesh's `extras.targetNames` (the convention of Blender's and three.js's exporters) or
`target_<k>`. `write_rig` writes such a mesh (triangles, named targets) as `.glb`;
`write_weight_animation` copies a rig and adds an animation of its morph-target weights (one
keyframe per video frame, LINEAR), which glTF viewers and Blender's importer play. Units are the
file's (glTF: metres; the built-in rig is written in cm scaled to metres).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import atomic_path

FLOAT, UINT = 5126, 5125
COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
DTYPES = {
    5126: np.float32,
    5125: np.uint32,
    5123: np.uint16,
    5121: np.uint8,
    5122: np.int16,
    5120: np.int8,
}


@dataclass
class GltfRig:
    """A rig read from glTF: neutral [V, 3] and targets [K, V, 3] float32 (file units), the
    targets' names, where they live (mesh and node index) and the mesh's triangles."""

    neutral: np.ndarray
    targets: np.ndarray
    names: list[str]
    mesh: int
    node: int | None
    triangles: np.ndarray  # [F, 3] int64 vertex indices of the primitive's triangles


def _load(path: Path):
    from pygltflib import GLTF2, BufferFormat

    if not path.is_file():
        raise TalkmeshError(f"{path}: no such rig file")
    try:
        gltf = GLTF2().load(str(path))
    except Exception as err:  # noqa: BLE001 - any parse failure is the file's problem
        raise TalkmeshError(f"{path}: not a readable glTF file ({type(err).__name__})") from None
    if gltf is None:
        raise TalkmeshError(f"{path}: not a readable glTF file")
    if path.suffix.lower() == ".gltf":
        gltf.convert_buffers(BufferFormat.BINARYBLOB)  # embedded or external buffers → one blob
    return gltf


def _view_bytes(gltf, view_index: int) -> tuple[bytes, int | None]:
    view = gltf.bufferViews[view_index]
    blob = gltf.binary_blob()
    start = view.byteOffset or 0
    return blob[start : start + view.byteLength], view.byteStride


def _accessor(gltf, index: int) -> np.ndarray:
    """An accessor's values as [count, components] float32 (strides and sparse parts applied)."""
    acc = gltf.accessors[index]
    width, dtype = COMPONENTS[acc.type], np.dtype(DTYPES[acc.componentType])
    out = np.zeros((acc.count, width), np.float32)
    if acc.bufferView is not None:
        data, stride = _view_bytes(gltf, acc.bufferView)
        item = width * dtype.itemsize
        stride = stride or item
        offset = acc.byteOffset or 0
        rows = np.frombuffer(data, np.uint8)[offset : offset + stride * (acc.count - 1) + item]
        rows = np.lib.stride_tricks.as_strided(
            rows, shape=(acc.count, item), strides=(stride, 1)
        ).copy()
        out[:] = rows.view(dtype).reshape(acc.count, width)
    if acc.sparse is not None:
        sparse = acc.sparse
        idata, _ = _view_bytes(gltf, sparse.indices.bufferView)
        idx_type = np.dtype(DTYPES[sparse.indices.componentType])
        ioff = sparse.indices.byteOffset or 0
        indices = np.frombuffer(idata[ioff:], idx_type, sparse.count)
        vdata, _ = _view_bytes(gltf, sparse.values.bufferView)
        voff = sparse.values.byteOffset or 0
        values = np.frombuffer(vdata[voff:], dtype, sparse.count * width)
        out[indices.astype(np.int64)] = values.reshape(sparse.count, width)
    return out


def read_rig(path: str | Path) -> GltfRig:
    """The first mesh with morph targets in `path` (module docstring)."""
    path = Path(path)
    gltf = _load(path)
    for m, mesh in enumerate(gltf.meshes or []):
        primitive = mesh.primitives[0]
        if not primitive.targets:
            continue
        neutral = _accessor(gltf, primitive.attributes.POSITION)
        targets = np.stack([_accessor(gltf, t["POSITION"]) for t in primitive.targets])
        extras = mesh.extras or {}
        names = list(extras.get("targetNames") or [f"target_{k}" for k in range(len(targets))])
        if len(names) != len(targets):
            raise TalkmeshError(
                f"{path}: mesh {m} has {len(targets)} morph targets but {len(names)} targetNames"
            )
        node = next((n for n, nd in enumerate(gltf.nodes or []) if nd.mesh == m), None)
        return GltfRig(neutral, targets, names, m, node, _triangles(gltf, primitive, len(neutral)))
    raise TalkmeshError(f"{path}: no mesh with morph targets (shape keys) in this glTF file")


def _triangles(gltf, primitive, count: int) -> np.ndarray:
    """[F, 3] int64 triangles of a primitive (TRIANGLES, TRIANGLE_STRIP or TRIANGLE_FAN; indexed
    or not); none for points and lines."""
    if primitive.indices is not None:
        order = _accessor(gltf, primitive.indices)[:, 0].astype(np.int64)
    else:
        order = np.arange(count)
    mode = 4 if primitive.mode is None else primitive.mode
    if mode == 4:
        return order[: len(order) // 3 * 3].reshape(-1, 3)
    if mode == 5:  # strip: every other triangle flips its winding
        return np.array(
            [
                order[[i, i + 1, i + 2]] if i % 2 == 0 else order[[i + 1, i, i + 2]]
                for i in range(len(order) - 2)
            ],
            np.int64,
        ).reshape(-1, 3)
    if mode == 6:
        return np.array(
            [[order[0], order[i], order[i + 1]] for i in range(1, len(order) - 1)], np.int64
        ).reshape(-1, 3)
    return np.zeros((0, 3), np.int64)


def _append(gltf, blob: bytearray, array: np.ndarray, kind: str, target: int | None = None) -> int:
    """Adds `array` to the blob with a buffer view and an accessor; returns the accessor index."""
    from pygltflib import Accessor, BufferView

    while len(blob) % 4:
        blob.append(0)
    data = np.ascontiguousarray(array).tobytes()
    gltf.bufferViews.append(
        BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data), target=target)
    )
    blob.extend(data)
    accessor = Accessor(
        bufferView=len(gltf.bufferViews) - 1,
        componentType=UINT if array.dtype == np.uint32 else FLOAT,
        count=len(array),
        type=kind,
    )
    if kind == "VEC3" or (kind == "SCALAR" and array.dtype != np.uint32):
        flat = array.reshape(len(array), -1)
        accessor.min, accessor.max = flat.min(0).tolist(), flat.max(0).tolist()
    gltf.accessors.append(accessor)
    return len(gltf.accessors) - 1


def write_rig(
    path: str | Path,
    neutral: np.ndarray,
    triangles: np.ndarray,
    targets: dict[str, np.ndarray],
    about: dict | None = None,
) -> Path:
    """Writes a `.glb` with one mesh (neutral [V, 3], triangles [F, 3], named morph targets
    {name: [V, 3]}) on one node, `about` in `asset.extras.talkmesh`; atomically."""
    from pygltflib import GLTF2, Asset, Attributes, Buffer, Mesh, Node, Primitive, Scene

    asset = Asset(generator="talkmesh-jax", version="2.0")
    if about is not None:
        asset.extras = {"talkmesh": about}
    gltf = GLTF2(asset=asset)
    blob = bytearray()
    position = _append(gltf, blob, np.asarray(neutral, np.float32), "VEC3", 34962)
    indices = np.asarray(triangles, np.uint32).reshape(-1)
    faces = _append(gltf, blob, indices, "SCALAR", 34963)
    deltas = [
        _append(gltf, blob, np.asarray(t, np.float32), "VEC3", 34962) for t in targets.values()
    ]
    primitive = Primitive(
        attributes=Attributes(POSITION=position),
        indices=faces,
        mode=4,
        targets=[{"POSITION": d} for d in deltas],
    )
    gltf.meshes.append(
        Mesh(
            name="face",
            primitives=[primitive],
            weights=[0.0] * len(deltas),
            extras={"targetNames": list(targets)},
        )
    )
    gltf.nodes.append(Node(name="face", mesh=0))
    gltf.scenes.append(Scene(nodes=[0]))
    gltf.scene = 0
    gltf.buffers.append(Buffer(byteLength=len(blob)))
    gltf.set_binary_blob(bytes(blob))
    return _save(gltf, Path(path))


def write_weight_animation(
    rig_path: str | Path, out: str | Path, weights: np.ndarray, fps: float, name: str = "speech"
) -> Path:
    """A copy of the rig at `rig_path` with an animation of its morph-target weights [T, K]
    (K = the rig's targets, in its order), keyframe t at t / fps seconds, as `.glb` at `out`."""
    from pygltflib import Animation, AnimationChannel, AnimationChannelTarget, AnimationSampler

    rig = read_rig(rig_path)
    weights = np.asarray(weights, np.float32)
    if weights.ndim != 2 or weights.shape[1] != len(rig.names):
        raise TalkmeshError(
            f"{rig_path}: the rig has {len(rig.names)} targets, the weights {weights.shape}"
        )
    if rig.node is None:
        raise TalkmeshError(f"{rig_path}: the mesh with morph targets is on no node")
    gltf = _load(Path(rig_path))
    blob = bytearray(gltf.binary_blob() or b"")
    times = _append(gltf, blob, np.arange(len(weights), dtype=np.float32) / fps, "SCALAR")
    values = _append(gltf, blob, weights.reshape(-1, 1), "SCALAR")
    gltf.buffers = gltf.buffers[:1]
    gltf.buffers[0].byteLength = len(blob)
    gltf.buffers[0].uri = None
    gltf.set_binary_blob(bytes(blob))
    sampler = AnimationSampler(input=times, output=values, interpolation="LINEAR")
    channel = AnimationChannel(
        sampler=0, target=AnimationChannelTarget(node=rig.node, path="weights")
    )
    gltf.animations.append(Animation(name=name, samplers=[sampler], channels=[channel]))
    return _save(gltf, Path(out))


def read_about(path: str | Path) -> dict:
    """What talkmesh wrote about the file (`asset.extras.talkmesh`), or {}."""
    extras = _load(Path(path)).asset.extras or {}
    return dict(extras.get("talkmesh") or {})


def read_weight_animation(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(times [T] s, weights [T, K]) of the first morph-weight animation in a glTF file."""
    gltf = _load(Path(path))
    for animation in gltf.animations or []:
        for channel in animation.channels:
            if channel.target.path == "weights":
                sampler = animation.samplers[channel.sampler]
                times = _accessor(gltf, sampler.input)[:, 0]
                return times, _accessor(gltf, sampler.output).reshape(len(times), -1)
    raise TalkmeshError(f"{path}: no morph-target weight animation")


def _save(gltf, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        gltf.save_binary(str(tmp))
    return path
