"use strict";
// FACE for the landmark viewer: META (fps, counts, scale, half extent, triangles) and DATA, the
// frames as int16 (x − centre) / scale.
const FACE = (function () {
  const V = META.num_vertices, scale = META.scale / 32767;
  const positions = new Int16Array(base64Bytes(DATA).buffer);
  const out = new Float32Array(V * 3);
  return {
    V, T: META.num_frames, fps: META.fps, half_extent: META.half_extent,
    triangles: new Int32Array(base64Bytes([META.triangles]).buffer),
    vertices(t) {
      const base = t * V * 3;
      for (let i = 0; i < V * 3; i++) out[i] = positions[base + i] * scale;
      return out;
    },
  };
})();
