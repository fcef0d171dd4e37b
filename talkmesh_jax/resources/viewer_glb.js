"use strict";
// FACE for a rig animation: DATA holds a whole .glb (glTF 2.0, binary). Drawn: the first mesh
// with morph targets (POSITION, indices, the targets' POSITION deltas, dense or sparse), moved
// by its node's matrix or translation/rotation/scale, and its node's first animation of
// "weights" (LINEAR, STEP or CUBICSPLINE) sampled at META.fps.
const FACE = (function () {
  const glb = base64Bytes(DATA);
  const head = new DataView(glb.buffer);
  if (head.getUint32(0, true) !== 0x46546c67) throw new Error("DATA is not a .glb file");
  let json = null, bin = null;
  for (let at = 12; at + 8 <= glb.length;) {
    const length = head.getUint32(at, true), type = head.getUint32(at + 4, true);
    const chunk = glb.subarray(at + 8, at + 8 + length);
    if (type === 0x4e4f534a) json = JSON.parse(new TextDecoder().decode(chunk));
    if (type === 0x004e4942) bin = new DataView(glb.buffer, at + 8, length);
    at += 8 + length;
  }
  const SIZE = { 5126: 4, 5125: 4, 5123: 2, 5122: 2, 5121: 1, 5120: 1 };
  const WIDTH = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT4: 16 };
  function value(type, at) {
    switch (type) {
      case 5126: return bin.getFloat32(at, true);
      case 5125: return bin.getUint32(at, true);
      case 5123: return bin.getUint16(at, true);
      case 5122: return bin.getInt16(at, true);
      case 5121: return bin.getUint8(at);
      default: return bin.getInt8(at);
    }
  }
  function values(view, type, offset, count, width, stride) {
    const bv = json.bufferViews[view], size = SIZE[type];
    const step = bv.byteStride || stride || width * size;
    const start = (bv.byteOffset || 0) + (offset || 0), out = new Float32Array(count * width);
    for (let i = 0; i < count; i++)
      for (let c = 0; c < width; c++) out[i * width + c] = value(type, start + i * step + c * size);
    return out;
  }
  function accessor(index) {
    const acc = json.accessors[index], width = WIDTH[acc.type];
    const out = acc.bufferView === undefined ? new Float32Array(acc.count * width)
      : values(acc.bufferView, acc.componentType, acc.byteOffset, acc.count, width);
    if (acc.sparse) {
      const s = acc.sparse;
      const where = values(s.indices.bufferView, s.indices.componentType, s.indices.byteOffset,
        s.count, 1, SIZE[s.indices.componentType]);
      const what = values(s.values.bufferView, acc.componentType, s.values.byteOffset, s.count,
        width);
      for (let i = 0; i < s.count; i++)
        for (let c = 0; c < width; c++) out[where[i] * width + c] = what[i * width + c];
    }
    return out;
  }
  const m = json.meshes.findIndex((mesh) => (mesh.primitives[0].targets || []).length > 0);
  if (m < 0) throw new Error("the .glb has no mesh with morph targets");
  const primitive = json.meshes[m].primitives[0];
  const base = accessor(primitive.attributes.POSITION), V = base.length / 3;
  const deltas = primitive.targets.map((target) => accessor(target.POSITION));
  const order = primitive.indices === undefined ? Array.from({ length: V }, (_, i) => i)
    : Array.from(accessor(primitive.indices));
  const mode = primitive.mode === undefined ? 4 : primitive.mode, tris = [];
  if (mode === 4) for (let i = 0; i + 2 < order.length; i += 3) tris.push(order[i], order[i + 1], order[i + 2]);
  if (mode === 5) for (let i = 0; i + 2 < order.length; i++)
    tris.push(...(i % 2 ? [order[i + 1], order[i], order[i + 2]] : order.slice(i, i + 3)));
  if (mode === 6) for (let i = 1; i + 1 < order.length; i++) tris.push(order[0], order[i], order[i + 1]);
  const node = (json.nodes || []).findIndex((n) => n.mesh === m);
  const matrix = nodeMatrix(node >= 0 ? json.nodes[node] : {});
  function nodeMatrix(n) {  // column-major 4 × 4, as glTF stores it
    if (n.matrix) return n.matrix;
    const [x, y, z, w] = n.rotation || [0, 0, 0, 1], [sx, sy, sz] = n.scale || [1, 1, 1];
    const t = n.translation || [0, 0, 0];
    return [
      (1 - 2 * (y * y + z * z)) * sx, 2 * (x * y + z * w) * sx, 2 * (x * z - y * w) * sx, 0,
      2 * (x * y - z * w) * sy, (1 - 2 * (x * x + z * z)) * sy, 2 * (y * z + x * w) * sy, 0,
      2 * (x * z + y * w) * sz, 2 * (y * z - x * w) * sz, (1 - 2 * (x * x + y * y)) * sz, 0,
      t[0], t[1], t[2], 1,
    ];
  }
  let times = new Float32Array([0]), keys = new Float32Array(json.meshes[m].weights ||
    deltas.map(() => 0)), interpolation = "STEP";
  for (const animation of json.animations || []) {
    const channel = animation.channels.find((c) => c.target.node === node &&
      c.target.path === "weights");
    if (!channel) continue;
    const sampler = animation.samplers[channel.sampler];
    times = accessor(sampler.input);
    keys = accessor(sampler.output);
    interpolation = sampler.interpolation || "LINEAR";
    break;
  }
  const K = deltas.length, stride = interpolation === "CUBICSPLINE" ? 3 * K : K;
  const skip = interpolation === "CUBICSPLINE" ? K : 0;  // [in-tangent, value, out-tangent]
  const weights = new Float32Array(K);
  function weightsAt(time) {
    let hi = 0;
    while (hi < times.length - 1 && times[hi] < time) hi++;
    const lo = Math.max(0, hi - 1);
    const span = times[hi] - times[lo];
    const f = interpolation === "LINEAR" && span > 0 ? Math.min(1, Math.max(0, (time - times[lo]) / span))
      : (time >= times[hi] ? 1 : 0);
    for (let k = 0; k < K; k++) {
      const a = keys[lo * stride + skip + k], b = keys[hi * stride + skip + k];
      weights[k] = a + (b - a) * f;
    }
    return weights;
  }
  const local = new Float32Array(V * 3), out = new Float32Array(V * 3);
  function place(source, centre) {
    for (let i = 0; i < V; i++) {
      const x = source[3 * i], y = source[3 * i + 1], z = source[3 * i + 2];
      for (let r = 0; r < 3; r++)
        out[3 * i + r] = matrix[r] * x + matrix[4 + r] * y + matrix[8 + r] * z + matrix[12 + r] - centre[r];
    }
    return out;
  }
  const rest = place(base, [0, 0, 0]), low = [Infinity, Infinity, Infinity], high = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < V; i++) for (let r = 0; r < 3; r++) {
    low[r] = Math.min(low[r], rest[3 * i + r]); high[r] = Math.max(high[r], rest[3 * i + r]);
  }
  const centre = low.map((l, r) => (l + high[r]) / 2);
  const halfExtent = Math.max(1e-9, ...high.map((h, r) => (h - low[r]) / 2));
  const fps = META.fps;
  return {
    V, T: Math.floor(times[times.length - 1] * fps + 1e-6) + 1, fps, half_extent: halfExtent, centre,
    triangles: new Int32Array(tris),
    vertices(t) {
      const w = weightsAt(t / fps);
      local.set(base);
      for (let k = 0; k < K; k++) {
        if (w[k] === 0) continue;
        const d = deltas[k];
        for (let i = 0; i < V * 3; i++) local[i] += w[k] * d[i];
      }
      return place(local, centre);
    },
  };
})();
