"""`talkmesh download`: the shipped list parses; an unreachable video fails alone, clearly;
without yt-dlp (the `download` extra) it says how to install it."""

import sys

import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.data_tools.download import read_video_list


def test_shipped_list_is_the_original():
    videos = read_video_list()
    assert len(videos) >= 300
    assert videos["2AFpAATHXtc"] == "https://www.youtube.com/watch?v=2AFpAATHXtc"


@pytest.mark.download
def test_unreachable_videos_fail_with_a_summary(tmp_path, capsys):
    pytest.importorskip("yt_dlp", reason="yt-dlp not installed: pip install -e '.[download]'")
    listing = tmp_path / "list.txt"
    # .invalid never resolves (RFC 2606), online or offline.
    listing.write_text(
        "# two talks\nhttps://talks.invalid/first.mp4\nhttps://talks.invalid/b.mp4\n"
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.mp4").write_bytes(b"done before")
    assert main(["download", str(tmp_path / "out"), "--list", str(listing), "--no-progress"]) == 1
    out, err = capsys.readouterr()
    assert "0 done, 1 skipped (already done), 1 failed" in out
    assert "https://talks.invalid/first.mp4: DownloadError" in out
    assert "Traceback" not in out + err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.mp4"]


def test_bad_list_line(tmp_path, capsys):
    listing = tmp_path / "list.txt"
    listing.write_text("not a url\n")
    assert main(["download", str(tmp_path), "--list", str(listing)]) == 1
    assert (
        capsys.readouterr().err.strip().endswith("list.txt:1: not a URL or YouTube id: 'not a url'")
    )


def test_without_yt_dlp_it_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "yt_dlp", None)  # import yt_dlp now fails
    listing = tmp_path / "list.txt"
    listing.write_text("https://talks.invalid/first.mp4\n")
    assert main(["download", str(tmp_path / "out"), "--list", str(listing)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "yt-dlp is not installed (pip install 'talkmesh-jax[download]' or pip install yt-dlp)"
    )
    assert len(err.splitlines()) == 1
