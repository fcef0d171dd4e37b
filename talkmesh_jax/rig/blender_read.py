"""Reads a glTF rig animation back with Blender's own importer (run under Blender's Python).

    python blender_read.py OUT.glb --out READ.json --fps 25 --frames 0,1,7,24   (Python with `bpy`)

Writes JSON (Blender's importer logs to stdout): Blender's version, the shape keys' names (the
Basis left out), their values at each frame asked (frame f is glTF time f / fps: the importer maps
seconds to frames with the scene's frame rate, starting at frame 0, so the scene is set to `fps`
first), and the evaluated mesh's vertices at those frames back in glTF axes (Blender is Z-up:
its (x, y, z) is glTF's (x, −z, y)); the importer drops vertices no triangle uses.
Standard library and `bpy` only: `bpy` 5.0 needs numpy < 2, so it lives in a venv of its own.
"""

from __future__ import annotations

import argparse
import json


def read(path: str, fps: int, frames: list[int]) -> dict:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, 1.0
    bpy.ops.import_scene.gltf(filepath=path)
    meshes = [o for o in scene.objects if o.type == "MESH" and o.data.shape_keys]
    if not meshes:
        raise SystemExit(f"{path}: Blender imported no mesh with shape keys")
    obj = meshes[0]
    keys = obj.data.shape_keys.key_blocks
    names = [k.name for k in keys][1:]  # [0] is the Basis
    out = {"blender": bpy.app.version_string, "names": names, "values": {}, "vertices": {}}
    for frame in frames:
        scene.frame_set(frame)
        out["values"][str(frame)] = [keys[n].value for n in names]
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        mesh = evaluated.to_mesh()
        world = obj.matrix_world
        points = [world @ v.co for v in mesh.vertices]
        out["vertices"][str(frame)] = [[p.x, p.z, -p.y] for p in points]
        evaluated.to_mesh_clear()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--frames", default="0")
    parser.add_argument("--out", required=True, help="where the JSON goes")
    args = parser.parse_args(argv)
    frames = [int(f) for f in args.frames.split(",")]
    result = read(args.path, args.fps, frames)
    with open(args.out, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
