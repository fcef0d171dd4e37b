"use strict";
// The talkmesh-jax viewer: META (fps, counts, centre, scale, triangles) and the FRAMES and AUDIO
// blocks above are the only inputs; nothing is fetched.
(function () {
  const bytes = (parts) => {
    const text = atob(parts.join(""));
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  };
  const V = META.num_vertices, T = META.num_frames, fps = META.fps;
  const positions = new Int16Array(bytes(FRAMES).buffer);
  const triangles = new Int32Array(bytes([META.triangles]).buffer);
  const F = triangles.length / 3;
  const canvas = document.getElementById("face"), ctx = canvas.getContext("2d");
  const slider = document.getElementById("slider"), label = document.getElementById("time");
  const button = document.getElementById("play"), audio = document.getElementById("audio");
  audio.src = "data:audio/mpeg;base64," + AUDIO.join("");
  slider.max = String(T - 1);
  let yaw = 0.35, pitch = 0.1, frame = 0, playing = false;
  const world = new Float32Array(V * 3), screen = new Float32Array(V * 3);
  const depth = new Float32Array(F), order = new Uint32Array(F), shade = new Float32Array(F);

  function project(t) {
    const s = META.scale / 32767, base = t * V * 3;
    const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    const size = canvas.width * 0.8 / (2 * META.half_extent);
    for (let i = 0; i < V; i++) {
      const x = positions[base + 3 * i] * s, y = positions[base + 3 * i + 1] * s;
      const z = positions[base + 3 * i + 2] * s;
      const x1 = cy * x + sy * z, z1 = -sy * x + cy * z;
      const y1 = cp * y - sp * z1, z2 = sp * y + cp * z1;
      world[3 * i] = x1; world[3 * i + 1] = y1; world[3 * i + 2] = z2;
      screen[3 * i] = canvas.width / 2 + x1 * size;
      screen[3 * i + 1] = canvas.height / 2 - y1 * size;
    }
  }

  function draw(t) {
    frame = Math.max(0, Math.min(T - 1, t | 0));
    project(frame);
    for (let f = 0; f < F; f++) {
      const a = 3 * triangles[3 * f], b = 3 * triangles[3 * f + 1], c = 3 * triangles[3 * f + 2];
      const ux = world[b] - world[a], uy = world[b + 1] - world[a + 1], uz = world[b + 2] - world[a + 2];
      const vx = world[c] - world[a], vy = world[c + 1] - world[a + 1], vz = world[c + 2] - world[a + 2];
      const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
      const n = Math.hypot(nx, ny, nz) || 1;
      shade[f] = Math.abs(0.3 * nx + 0.4 * ny + 0.87 * nz) / n;
      depth[f] = world[a + 2] + world[b + 2] + world[c + 2];
      order[f] = f;
    }
    order.sort((p, q) => depth[p] - depth[q]);
    ctx.fillStyle = "#181818";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (let k = 0; k < F; k++) {
      const f = order[k];
      const a = 3 * triangles[3 * f], b = 3 * triangles[3 * f + 1], c = 3 * triangles[3 * f + 2];
      const level = 0.25 + 0.75 * shade[f];
      const colour = `rgb(${(235 * level) | 0},${(200 * level) | 0},${(180 * level) | 0})`;
      ctx.fillStyle = colour;
      ctx.strokeStyle = colour;
      ctx.beginPath();
      ctx.moveTo(screen[a], screen[a + 1]);
      ctx.lineTo(screen[b], screen[b + 1]);
      ctx.lineTo(screen[c], screen[c + 1]);
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
    slider.value = String(frame);
    label.textContent = (frame / fps).toFixed(2) + " s";
  }

  function tick() {
    if (!playing) return;
    draw(Math.floor(audio.currentTime * fps));
    if (audio.ended) { playing = false; button.textContent = "Play"; return; }
    requestAnimationFrame(tick);
  }
  function toggle() {
    if (playing) { audio.pause(); playing = false; button.textContent = "Play"; return; }
    if (frame >= T - 1) audio.currentTime = 0;
    audio.play().then(() => { playing = true; button.textContent = "Pause"; tick(); });
  }
  function seek(t) { audio.currentTime = t / fps; draw(t); }

  button.addEventListener("click", toggle);
  slider.addEventListener("input", () => seek(Number(slider.value)));
  document.addEventListener("keydown", (e) => {
    if (e.key === " ") { e.preventDefault(); toggle(); }
    if (e.key === "ArrowRight") seek(frame + 1);
    if (e.key === "ArrowLeft") seek(frame - 1);
  });
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => { drag = [e.clientX, e.clientY, yaw, pitch]; });
  window.addEventListener("pointerup", () => { drag = null; });
  window.addEventListener("pointermove", (e) => {
    if (!drag) return;
    yaw = drag[2] + (e.clientX - drag[0]) * 0.01;
    pitch = Math.max(-1.4, Math.min(1.4, drag[3] + (e.clientY - drag[1]) * 0.01));
    if (!playing) draw(frame);
  });
  canvas.addEventListener("dblclick", () => { yaw = 0.35; pitch = 0.1; draw(frame); });
  // The canvas is the largest square that fits the window below the bar and above the hint
  // (no scroll bar, nothing cut off), redrawn when the window changes size.
  function fit() {
    const used = document.getElementById("bar").offsetHeight +
      document.getElementById("hint").offsetHeight;
    const side = Math.max(120, Math.floor(Math.min(window.innerWidth, window.innerHeight - used)));
    if (canvas.width !== side) { canvas.width = side; canvas.height = side; }
  }
  window.addEventListener("resize", () => { fit(); draw(frame); });
  fit();
  // #t=SECONDS opens the viewer at that time (for links and screenshots)
  const start = /t=([0-9.]+)/.exec(location.hash);
  const first = start ? Math.round(Number(start[1]) * fps) : 0;
  audio.currentTime = first / fps;
  draw(first);
})();
