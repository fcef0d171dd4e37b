"""Speech with its phonemes and their timing from libespeak-ng, and a mouth driven by them.

espeak-ng's C library reports a phoneme event (name, position in the audio) for every phoneme it
speaks when initialised with `espeakINITIALIZE_PHONEME_EVENTS`; we call it through ctypes (no
headers or compiler needed; the layout is speak_lib.h's). `mouth_from_phonemes` turns the events
into the synthetic face's two mouth controls (opening, spread in cm) the way articulation works:
bilabials (p b m) close the lips, labiodentals (f v) nearly close them, rounded vowels and w
protrude them (negative spread), open vowels drop the jaw, spread vowels (i: I e) widen; the lips
lead the sound (anticipation) and neighbouring phonemes blend (coarticulation smoothing).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

from talkmesh_jax import FPS, TalkmeshError

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000
EVENT_LIST_TERMINATED, EVENT_PHONEME, EVENT_END = 0, 7, 5
POS_CHARACTER, CHARS_UTF8, ENDPAUSE = 1, 1, 0x1000
RATE, PITCH = 1, 3
ANTICIPATION_S = 0.04  # lips lead the sound
SMOOTHING_S = 0.03  # coarticulation: Gaussian σ over the phoneme targets
CLOSURE_S = 0.08  # a bilabial closes the lips for at least this long (before its release)
CLOSURE_SMOOTHING_S = 0.015  # lips close and open faster than the jaw moves


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of the text
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)
_LOCK = threading.Lock()  # the library has one global synthesiser


@dataclass
class _Library:
    lib: ctypes.CDLL
    sample_rate: int
    callback: object  # kept alive: the library holds the pointer


@cache
def _library() -> _Library:
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise TalkmeshError(
            "libespeak-ng not found (install it: apt-get install espeak-ng)"
        ) from None
    options = INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options)
    if rate <= 0:
        raise TalkmeshError("libespeak-ng failed to initialise (espeak-ng-data missing?)")
    callback = _CALLBACK(_collect)
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    return _Library(lib, rate, callback)


_current: dict = {"audio": [], "events": []}


def _collect(wav, count, events) -> int:
    if count > 0:
        _current["audio"].append(np.ctypeslib.as_array(wav, (count,)).copy())
    i = 0
    while events[i].type != EVENT_LIST_TERMINATED:
        event = events[i]
        if event.type == EVENT_PHONEME:
            name = event.id.string.decode("utf-8", "replace")
            _current["events"].append((name, event.audio_position / 1000.0))
        i += 1
    return 0


def speak_phonemes(
    text: str, voice: str = "en-us", speed: int = 175, pitch: int = 50
) -> tuple[np.ndarray, int, list[tuple[str, float]]]:
    """(audio [S] float32 at the library's rate, that rate in Hz, [(phoneme, start s)]) of
    espeak-ng speaking `text`. Phoneme names are espeak's (p, b, m, aI, u:, …)."""
    library = _library()
    with _LOCK:
        _current["audio"], _current["events"] = [], []
        # the library's lookup misses a few names the espeak-ng command takes ("en-gb" is "en")
        names = (voice, voice.replace("en-gb", "en", 1))
        if all(library.lib.espeak_SetVoiceByName(name.encode()) != 0 for name in names):
            raise TalkmeshError(f"espeak-ng has no voice {voice!r}")
        library.lib.espeak_SetParameter(RATE, int(speed), 0)
        library.lib.espeak_SetParameter(PITCH, int(pitch), 0)
        data = text.encode("utf-8") + b"\0"
        flags = CHARS_UTF8 | ENDPAUSE
        error = library.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, flags, None, None)
        library.lib.espeak_Synchronize()
        if error != 0:
            raise TalkmeshError(f"espeak-ng failed to speak {text[:40]!r} (error {error})")
        pieces, events = _current["audio"], list(_current["events"])
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.int16)
    return (audio.astype(np.float32) / 32768.0), library.sample_rate, events


# Articulation targets per phoneme: (jaw opening 0–1, lip closure 0–1, spread −1 (protruded,
# rounded) … 1 (wide)). espeak's English phoneme names; anything unlisted is a consonant made
# behind the lips (t, d, n, s, k, …): jaw slightly open, lips neutral.
BILABIAL = {"p": (0.05, 1.0, 0.0), "b": (0.05, 1.0, 0.0), "m": (0.05, 1.0, 0.0)}
LABIODENTAL = {"f": (0.1, 0.75, 0.1), "v": (0.1, 0.75, 0.1)}
ROUNDED = {
    "u:": (0.25, 0.0, -1.0),
    "U": (0.3, 0.0, -0.8),
    "w": (0.15, 0.3, -1.0),
    "oU": (0.45, 0.0, -0.8),
    "o@": (0.5, 0.0, -0.7),
    "O:": (0.6, 0.0, -0.7),
    "O": (0.6, 0.0, -0.6),
    "0": (0.65, 0.0, -0.5),
    "OI": (0.55, 0.0, -0.5),
    "aU": (0.8, 0.0, -0.4),
    "u@": (0.3, 0.0, -0.8),
    "S": (0.15, 0.0, -0.5),
    "Z": (0.15, 0.0, -0.5),
    "tS": (0.15, 0.2, -0.5),
    "dZ": (0.15, 0.2, -0.5),
    "r": (0.2, 0.0, -0.3),
}
OPEN = {
    "a": (0.9, 0.0, 0.2),
    "A:": (1.0, 0.0, 0.0),
    "A@": (0.9, 0.0, 0.0),
    "aI": (0.85, 0.0, 0.3),
    "a#": (0.75, 0.0, 0.1),
    "V": (0.7, 0.0, 0.0),
    "E": (0.6, 0.0, 0.4),
    "e@": (0.6, 0.0, 0.3),
    "eI": (0.5, 0.0, 0.6),
    "3:": (0.45, 0.0, 0.0),
    "@": (0.35, 0.0, 0.0),
    "@L": (0.3, 0.0, 0.0),
    "I": (0.3, 0.0, 0.7),
    "i": (0.25, 0.0, 0.8),
    "i:": (0.2, 0.0, 1.0),
    "i@": (0.3, 0.0, 0.6),
}
OTHER = (0.2, 0.0, 0.1)
TARGETS = {**BILABIAL, **LABIODENTAL, **ROUNDED, **OPEN}


def bare_phoneme(name: str) -> str:
    """An espeak phoneme name without its stress and syllable marks."""
    return name.strip("'%,=")


def phoneme_target(name: str) -> tuple[float, float, float]:
    """(jaw, closure, spread) of an espeak phoneme name; pauses ('_', '_:', …) rest the mouth."""
    name = bare_phoneme(name)
    if not name or name.startswith("_"):
        return (0.0, 0.5, 0.0)
    return TARGETS.get(name, OTHER)


def _gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    radius = max(1, int(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return np.convolve(np.pad(x, radius, mode="edge"), kernel / kernel.sum(), mode="valid")


def mouth_from_phonemes(
    events: list[tuple[str, float]], num_frames: int, offset_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Phoneme events (name, start s; the speech starting `offset_s` into the clip) → (opening
    [T] cm, spread [T] cm) at 25 fps: each phoneme's target held from its start to the next,
    sampled at 1 ms, shifted `ANTICIPATION_S` earlier, smoothed (σ `SMOOTHING_S`); a bilabial
    closes the lips for at least `CLOSURE_S` up to its release; closure overrides the jaw's
    opening at the lips."""
    resolution = 1000  # samples per second of the target curves
    length = int(np.ceil(num_frames / FPS * resolution)) + 1
    curves = np.zeros((3, length))
    curves[1] = 0.5  # at rest, lips lightly together
    starts = [round((offset_s + t - ANTICIPATION_S) * resolution) for _, t in events]
    for i, (name, _) in enumerate(events):
        end = starts[i + 1] if i + 1 < len(events) else length
        lo, hi = np.clip([starts[i], end], 0, length)
        curves[:, lo:hi] = np.array(phoneme_target(name))[:, None]
    if events and starts[-1] < length:  # after the last phoneme: rest
        curves[:, max(0, starts[-1] + 80) :] = np.array([[0.0], [0.5], [0.0]])
    for i, (name, _) in enumerate(events):  # full closures, however short the sound
        if bare_phoneme(name) in BILABIAL:
            end = starts[i + 1] if i + 1 < len(events) else length
            lo, hi = np.clip([min(starts[i], end - CLOSURE_S * resolution), end], 0, length)
            curves[1, int(lo) : int(hi)] = 1.0
    jaw, spread = (_gaussian_smooth(c, SMOOTHING_S * resolution) for c in curves[::2])
    closure = _gaussian_smooth(curves[1], CLOSURE_SMOOTHING_S * resolution)
    frames = (np.arange(num_frames) / FPS * resolution).astype(int)
    jaw, closure, spread = jaw[frames], closure[frames], spread[frames]
    opening = 1.2 * jaw * (1.0 - closure)
    return opening.astype(np.float32), (0.35 * spread * (1.0 - 0.5 * closure)).astype(np.float32)
