"""A synthetic talking-face dataset: real synthesized speech (espeak-ng), a face driven by it.

Audio: random English sentences spoken by espeak-ng with several voices, speeds and pitches,
resampled to 16 kHz, with silence around them. Face ([T, 478, 3] float32, metric cm, the canonical
face plus iris points) follows a fixed, nonlinear rule:
  mouth  opening = 1.2 cm · loudness^1.5 · (1 − 0.3 · max(brightness, 0)), lip spread =
         0.35 cm · brightness · loudness, where loudness = sigmoid((dB + 30) / 5) of the frame's
         RMS and brightness = tanh(6 · (zero-crossing rate − 0.12)), both smoothed over ±2 frames;
  upper  blinks at random times (every 2–5 s, 0.24 s long) and a slow random brow motion, both
         independent of the audio.
Blendshapes ([T, 52], MediaPipe's names and order) follow the same controls: jaw opening →
jawOpen (and mouthLowerDown*), spread → mouthStretch*/mouthSmile* (or, when negative,
mouthPucker/mouthFunnel), blinks → eyeBlink* (and a little eyeSquint*), brows → browInnerUp and
browOuterUp* (up) or browDown* (down); the other coefficients are zero.
Some clips have a short run of invalid frames (zeros, validity false), like real extraction output.
It is what tests, the demo and the learning checks train on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from talkmesh_jax import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME, TalkmeshError
from talkmesh_jax.data.dataset import Dataset, DatasetInfo, make_split, save_clip, write_info
from talkmesh_jax.data.dataset import write_split as write_split_file
from talkmesh_jax.data.synth_mesh import subdivision, to_mesh, write_mesh_extras
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES, canonical_face, lip_rings, region_indices

VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-scotland", "en-029+m3", "en-us+f5", "en-gb+f4")
WORDS = (
    "the a we our people country work year today families children future every more new "
    "jobs economy energy health care schools time make sure americans help together nation "
    "business world because right thank you week good strong security education opportunity "
    "congress plan pay workers middle class should would could believe president government "
    "home across these years many first just water weather summer morning after before never "
    "always something small large quickly slowly river mountain number seven thirty forty fifty"
).split()


def _espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise TalkmeshError("espeak-ng not found on PATH (install it: apt-get install espeak-ng)")
    return path


def speak_to_wav(text: str, wav: Path, voice: str = "en-us", speed: int = 175, pitch: int = 50):
    """Writes espeak-ng speech of `text` to the wav file `wav` (espeak-ng's rate, 22.05 kHz)."""
    args = [_espeak(), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text]
    result = subprocess.run(args, capture_output=True, check=False)
    if result.returncode != 0 or not wav.exists():
        raise TalkmeshError(f"espeak-ng failed for voice {voice}: {result.stderr.decode()[-200:]}")


def speak(text: str, voice: str, speed: int, pitch: int, scratch: Path) -> np.ndarray:
    """espeak-ng speech of `text`: [S] float32, 16 kHz mono."""
    from talkmesh_jax.media import load_audio

    wav = scratch / "speech.wav"
    speak_to_wav(text, wav, voice, speed, pitch)
    return load_audio(wav, SAMPLE_RATE)


def _smooth(x: np.ndarray, radius: int = 2) -> np.ndarray:
    kernel = np.hanning(2 * radius + 3)[1:-1]
    return np.convolve(np.pad(x, radius, mode="edge"), kernel / kernel.sum(), mode="valid")


def mouth_controls(audio: np.ndarray, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed rule: audio [S] 16 kHz → (opening [T] cm, spread [T] cm) at 25 fps."""
    frames = np.zeros((num_frames, SAMPLES_PER_FRAME), np.float64)
    usable = min(len(audio) // SAMPLES_PER_FRAME, num_frames)
    frames[:usable] = audio[: usable * SAMPLES_PER_FRAME].reshape(usable, SAMPLES_PER_FRAME)
    rms = np.sqrt((frames**2).mean(1) + 1e-12)
    loudness = _smooth(1.0 / (1.0 + np.exp(-(20 * np.log10(rms) + 30) / 5)))
    crossings = (np.diff(np.signbit(frames), axis=1) != 0).mean(1)
    brightness = _smooth(np.tanh(6 * (crossings - 0.12)) * (loudness > 0.2))
    opening = 1.2 * loudness**1.5 * (1 - 0.3 * np.maximum(brightness, 0))
    spread = 0.35 * brightness * loudness
    return opening.astype(np.float32), spread.astype(np.float32)


@cache
def face_model() -> dict[str, np.ndarray]:
    """Base face [478, 3] and displacement fields [478, 3] (cm per unit of each control)."""
    v = canonical_face()["vertices"].astype(np.float64)
    eyes = region_indices()["eyes"]
    right, left = [i for i in eyes if v[i, 0] < 0], [i for i in eyes if v[i, 0] > 0]
    irises = []
    for side in (right, left):  # MediaPipe order: 468–472 right iris, 473–477 left iris
        centre = v[side].mean(0)
        irises += [centre] + [centre + d for d in ([0.55, 0, 0], [0, 0.55, 0], [-0.55, 0, 0])]
        irises += [centre + [0, -0.55, 0]]
    base = np.concatenate([v, np.array(irises)])
    outer, inner = lip_rings()
    mouth = base[inner].mean(0)
    x, y = base[:, 0] - mouth[0], base[:, 1] - mouth[1]
    jaw = np.zeros_like(base)
    below = np.exp(-(x**2) / (2 * 3.0**2)) * np.clip(-y / 0.6 + 0.5, 0, 1)
    above = 0.15 * np.exp(-(x**2) / (2 * 2.0**2) - (y**2) / (2 * 1.0**2)) * (y > 0)
    jaw[:, 1] = -below + above
    jaw[:, 2] = -0.3 * below
    corners = [outer[int(np.argmin(base[outer, 0]))], outer[int(np.argmax(base[outer, 0]))]]
    spread = np.zeros_like(base)
    for corner in corners:
        d2 = ((base[:, :2] - base[corner, :2]) ** 2).sum(1)
        spread[:, 0] += np.sign(base[corner, 0] - mouth[0]) * np.exp(-d2 / (2 * 1.2**2))
    spread[:, 2] = -0.5 * np.exp(-(x**2 + y**2) / (2 * 1.5**2))
    blink = np.zeros_like(base)
    for side in (right, left):
        centre = base[side].mean(0)
        upper_lid = [i for i in side if base[i, 1] > centre[1]]
        blink[upper_lid, 1] = -(base[upper_lid, 1] - centre[1]) * 1.8
    eye_top = base[eyes, 1].max()
    brow = np.zeros_like(base)
    brow[:468, 1] = np.clip((base[:468, 1] - eye_top + 0.3) / 2.5, 0, 1) * 0.5
    return {"base": base, "jaw": jaw, "spread": spread, "blink": blink, "brow": brow}


def upper_face_controls(num_frames: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Audio-independent (blink [T] in [0, 1], brow [T] in about [−1, 1])."""
    blink = np.zeros(num_frames)
    t = int(rng.integers(0, 3 * FPS))
    while t < num_frames:
        shape = np.array([0.3, 0.8, 1.0, 1.0, 0.6, 0.2])
        blink[t : t + len(shape)] = shape[: num_frames - t]
        t += int(rng.integers(2 * FPS, 5 * FPS))
    noise = rng.normal(size=num_frames + 50)
    kernel = np.hanning(41)
    brow = np.convolve(noise, kernel / np.sqrt((kernel**2).sum()), mode="same")[
        25 : 25 + num_frames
    ]
    return blink, np.tanh(brow)


def blendshapes_from_controls(
    opening: np.ndarray, spread: np.ndarray, blink: np.ndarray, brow: np.ndarray
) -> np.ndarray:
    """Per-frame controls [T] (cm, cm, [0, 1], about [−1, 1]) → blendshapes [T, 52] in [0, 1]."""
    jaw = np.clip(opening / 1.5, 0, 1)
    stretch, pucker = np.clip(spread / 0.35, 0, 1), np.clip(-spread / 0.35, 0, 1)
    up, down = np.clip(brow, 0, 1), np.clip(-brow, 0, 1)
    both = {
        "mouthLowerDown": 0.6 * jaw,
        "mouthStretch": 0.7 * stretch,
        "mouthSmile": 0.4 * stretch,
        "eyeBlink": blink,
        "eyeSquint": 0.3 * blink,
        "browOuterUp": 0.6 * up,
        "browDown": 0.6 * down,
    }
    values = {"jawOpen": jaw, "mouthPucker": 0.7 * pucker, "mouthFunnel": 0.4 * pucker}
    values["browInnerUp"] = up
    values.update({f"{name}{side}": v for name, v in both.items() for side in ("Left", "Right")})
    out = np.zeros((len(opening), len(BLENDSHAPE_NAMES)), np.float32)
    for name, value in values.items():
        out[:, BLENDSHAPE_NAMES.index(name)] = np.clip(value, 0, 1)
    return out


def face_sequence(
    audio: np.ndarray,
    num_frames: int,
    rng: np.random.Generator,
    mouth: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(landmarks [T, 478, 3] float32 cm, blendshapes [T, 52] float32) for `audio` [S] 16 kHz;
    the mouth follows the loudness rule, or the given (opening [T], spread [T]) cm."""
    model = face_model()
    opening, spread = mouth_controls(audio, num_frames) if mouth is None else mouth
    blink, brow = upper_face_controls(num_frames, rng)
    faces = model["base"][None] + rng.normal(0, 0.004, (num_frames, *model["base"].shape))
    for control, name in ((opening, "jaw"), (spread, "spread"), (blink, "blink"), (brow, "brow")):
        faces += control[:, None, None] * model[name][None]
    return faces.astype(np.float32), blendshapes_from_controls(opening, spread, blink, brow)


DRIVES = ("loudness", "phonemes")


def _speak_with_phonemes(text: str, voice: str, speed: int, pitch: int, scratch: Path):
    """(speech [S] float32 16 kHz, phoneme events [(name, start s)]) from libespeak-ng."""
    from talkmesh_jax.data.phonemes import speak_phonemes
    from talkmesh_jax.media import load_audio, write_wav

    audio, rate, events = speak_phonemes(text, voice, speed, pitch)
    wav = scratch / "speech.wav"
    write_wav(wav, audio, rate)
    return load_audio(wav, SAMPLE_RATE), events


@dataclass(frozen=True)
class Degradation:
    """What real extraction adds to a clip, beyond the default (one run of 2–7 invalid frames
    in half the clips): `invalid_runs` runs of 2–7 invalid frames (zeroed, validity false) in
    every clip, and Gaussian noise of `noise_cm` (std, per coordinate) on every landmark. Drawn
    from a generator of their own, so the clean clip is the same with or without them."""

    invalid_runs: int | None = None  # None: the default above
    noise_cm: float = 0.0


def synth_clip(
    rng: np.random.Generator,
    scratch: Path,
    drive: str = "loudness",
    degradation: Degradation = Degradation(),
    degradation_rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """One clip: audio [S] float32 16 kHz, landmarks [T, 478, 3], valid [T] bool, blendshapes
    [T, 52] (zeros where invalid, like extraction output). `drive`: what moves the mouth — the
    loudness rule, or the phonemes espeak-ng spoke with their timing (`phonemes.py`).
    `degradation` (drawn from `degradation_rng`): more invalid runs and landmark noise."""
    sentences = []
    for _ in range(int(rng.integers(1, 4))):
        words = rng.choice(WORDS, size=int(rng.integers(4, 11)))
        sentences.append(" ".join(words).capitalize() + ".")
    voice = VOICES[int(rng.integers(len(VOICES)))]
    text, speed, pitch = " ".join(sentences), int(rng.integers(130, 190)), int(rng.integers(30, 70))
    if drive == "phonemes":
        speech, events = _speak_with_phonemes(text, voice, speed, pitch, scratch)
    else:
        speech, events = speak(text, voice, speed, pitch, scratch), None
    lead, tail = (int(rng.uniform(0.2, 0.8) * SAMPLE_RATE) for _ in range(2))
    audio = np.concatenate([np.zeros(lead), speech, np.zeros(tail)]).astype(np.float32)
    audio += rng.normal(0, 1e-3, len(audio)).astype(np.float32)
    num_frames = len(audio) // SAMPLES_PER_FRAME
    mouth = None
    if events is not None:
        from talkmesh_jax.data.phonemes import mouth_from_phonemes

        mouth = mouth_from_phonemes(events, num_frames, offset_s=lead / SAMPLE_RATE)
    landmarks, blendshapes = face_sequence(audio, num_frames, rng, mouth)
    valid = np.ones(num_frames, bool)
    if rng.random() < 0.5 and degradation.invalid_runs is None:
        start = int(rng.integers(0, max(1, num_frames - 8)))
        valid[start : start + int(rng.integers(2, 8))] = False
    extra = degradation_rng or np.random.default_rng(0)
    for _ in range(degradation.invalid_runs or 0):
        start = int(extra.integers(0, max(1, num_frames - 8)))
        valid[start : start + int(extra.integers(2, 8))] = False
    if degradation.noise_cm > 0:
        landmarks += extra.normal(0, degradation.noise_cm, landmarks.shape).astype(np.float32)
    landmarks[~valid] = 0.0
    blendshapes[~valid] = 0.0
    return {"audio": audio, "landmarks": landmarks, "valid": valid, "blendshapes": blendshapes}


def synth_dataset(
    root: str | os.PathLike,
    clips: int,
    seed: int = 0,
    show_progress: bool = True,
    mesh_levels: int = 0,
    drive: str = "loudness",
    degradation: Degradation = Degradation(),
) -> Dataset:
    """Writes `clips` clips (`synth_00000`…, with blendshapes) plus dataset.json, a 80/10/10
    split by clip and the reference faces into `root`; returns the dataset. With `mesh_levels`
    > 0 the faces are registered meshes instead: the canonical face subdivided that many times
    and moved like the landmarks (`synth_mesh.py`), with region masks and template.obj.
    `degradation`: more invalid runs and landmark noise (`Degradation`)."""
    from tqdm import tqdm

    from talkmesh_jax.data_tools.reference_faces import reference_faces, write_reference_faces

    if clips < 1:
        raise ValueError(f"--clips must be at least 1, got {clips}")
    if drive not in DRIVES:
        raise ValueError(f"--drive must be one of {DRIVES}, got {drive!r}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    matrix = triangles = None
    info = DatasetInfo(
        num_landmarks=478,
        source=f"talkmesh synth (seed {seed}, mouth driven by {drive}{_described(degradation)})",
        blendshape_names=tuple(BLENDSHAPE_NAMES),
    )
    if mesh_levels > 0:
        matrix, triangles = subdivision(mesh_levels)
        info = replace(info, num_landmarks=len(matrix), face="mesh")
    write_info(root, info)
    names = [f"synth_{i:05d}" for i in range(clips)]
    with tempfile.TemporaryDirectory() as scratch:
        for i, name in enumerate(tqdm(names, unit="clip", desc="synth", disable=not show_progress)):
            rng, extra = np.random.default_rng([seed, i]), np.random.default_rng([seed, i, 1])
            clip = synth_clip(rng, Path(scratch), drive, degradation, extra)
            if matrix is not None:
                clip["landmarks"] = to_mesh(clip["landmarks"], matrix)
            save_clip(root, name, **clip)
    write_split_file(root / "train_test_split.txt", make_split(names, 0.1, 0.1, seed))
    if matrix is not None:
        write_mesh_extras(root, matrix, triangles, _mesh_reference_faces())
        return Dataset(root)
    dataset = Dataset(root)
    close = min(250, sum(len(dataset.load_clip(n, mmap=True)[2]) for n in names) // 4)
    write_reference_faces(dataset, reference_faces(dataset, names, close, show_progress=False))
    return dataset


def _described(degradation: Degradation) -> str:
    parts = []
    if degradation.invalid_runs is not None:
        parts.append(f"{degradation.invalid_runs} invalid runs per clip")
    if degradation.noise_cm:
        parts.append(f"landmark noise {degradation.noise_cm:g} cm")
    return "".join(f", {p}" for p in parts)


def _mesh_reference_faces() -> dict[str, np.ndarray]:
    """The synthetic face at rest (mouth closed, eyes open) [478, 3], as both reference faces of
    a mesh dataset (the landmark tools that find them in data need MediaPipe's lips)."""
    base = face_model()["base"].astype(np.float32)
    return {"mean_face": base, "close_mouth_face": base}
