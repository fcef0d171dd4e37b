"use strict";
// The talkmesh-jax viewer: draws FACE (defined by viewer_frames.js or viewer_glb.js from the
// blocks above: V vertices, T frames at fps, triangles, half_extent, vertices(t) → Float32Array
// [V * 3] centred) and plays AUDIO; nothing is fetched.
(function () {
  const V = FACE.V, T = FACE.T, fps = FACE.fps;
  const triangles = FACE.triangles;
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
    const positions = FACE.vertices(t);
    const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    const size = canvas.width * 0.8 / (2 * FACE.half_extent);
    for (let i = 0; i < V; i++) {
      const x = positions[3 * i], y = positions[3 * i + 1], z = positions[3 * i + 2];
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
  // #dump=FRAME writes that frame's vertices (centred, FACE.centre beside them) into the page as
  // JSON, so a headless browser's --dump-dom can check what the viewer computes
  const dump = /dump=([0-9]+)/.exec(location.hash);
  if (dump) {
    const pre = document.createElement("pre");
    pre.id = "dump";
    pre.textContent = JSON.stringify({ T, V, centre: FACE.centre || null,
      vertices: Array.from(FACE.vertices(Number(dump[1]))) });
    document.body.appendChild(pre);
  }
})();
