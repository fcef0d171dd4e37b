"""ffmpeg wrapper: any audio file → 16 kHz mono float32; clear errors."""

import subprocess

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.media import load_audio, probe


def test_stereo_44k_flac_is_resampled_and_downmixed(tmp_path):
    path = tmp_path / "tone.flac"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
        + ["-t", "1.5", "-ac", "2", str(path)],
        check=True,
    )
    info = probe(path)
    assert (info.sample_rate, info.channels, info.has_video) == (44100, 2, False)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 24000) <= 160
    peak = np.fft.rfftfreq(len(audio), 1 / 16000)[np.abs(np.fft.rfft(audio)).argmax()]
    assert peak == pytest.approx(440, abs=2)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(TalkmeshError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(TalkmeshError, match=r"bad.wav: decoding audio failed"):
        load_audio(bad)
    with pytest.raises(TalkmeshError, match=r"bad.wav: probing failed"):
        probe(bad)
