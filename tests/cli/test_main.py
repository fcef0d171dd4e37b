"""The `talkmesh` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from talkmesh_jax.cli import build_parser, main


def subcommand_paths(parser, prefix=()):
    """Every command path, e.g. ('bench', 'loader')."""
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from subcommand_paths(sub, (*prefix, name))


@pytest.mark.parametrize("path", [(), *subcommand_paths(build_parser())])
def test_help_everywhere(path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    assert "usage: talkmesh" in capsys.readouterr().out


def test_console_script_is_installed() -> None:
    """The `talkmesh` entry point that pip installed beside this Python (not `python -m`)."""
    script = Path(sys.executable).parent / "talkmesh"
    assert script.is_file(), f"{script}: not installed (pip install -e .)"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "talkmesh-jax" in result.stdout


def test_bench_loader_writes_json(tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "loader",
            "--minutes",
            "1.5",
            "--landmarks",
            "20",
            "--round-seconds",
            "0.01",
            "--no-progress",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    results = json.loads(out.read_text())
    for key in (
        "cpp_gbps",
        "memcpy_gbps",
        "cpp_windows_per_s",
        "seed_style_windows_per_s",
        "grain_windows_per_s",
        "numpy_windows_per_s",
        "cpp_all_cores_windows_per_s",
    ):
        assert results[key] > 0, key
    # orders that hold whatever the machine's load: one memcpy-bound C++ thread beats the
    # per-window numpy reference and the original's per-window log-mel by far
    assert results["cpp_windows_per_s"] > 1.5 * results["seed_style_windows_per_s"]
    assert results["dataset"]["num_vertices"] == 20
    assert "C++ batcher, 1 thread" in capsys.readouterr().out


def test_bench_loader_on_a_packed_dataset(tmp_path, capsys) -> None:
    from talkmesh_jax.data.packed import write_packed
    from tests.helpers import random_clips

    clips = random_clips(np.random.default_rng(0), num_clips=3, num_vertices=7, max_frames=900)
    write_packed(clips, tmp_path / "packed")
    out = tmp_path / "bench.json"
    args = ["--data", str(tmp_path / "packed"), "--window-frames", "50", "--stride-frames", "10"]
    code = main(
        ["bench", "loader", *args, "--round-seconds", "0.01", "--no-progress", "--json", str(out)]
    )
    assert code == 0
    results = json.loads(out.read_text())
    assert results["dataset"]["source"] == str(tmp_path / "packed")
    assert results["dataset"]["num_vertices"] == 7
    assert results["bytes_per_window"] == 50 * 640 * 4 + 50 * 7 * 12 + 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window-frames", "0"], "window_frames must be > 0, got 0"),
        (["--minutes", "0.2"], "--minutes 0.2 is too small: the dataset must hold two batches"),
        (["--data", "/nonexistent"], "/nonexistent/pack.json: missing"),
    ],
)
def test_bad_argument_is_one_line_and_nonzero(args, message, capsys) -> None:
    code = main(["bench", "loader", "--minutes", "1", "--no-progress", *args])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"talkmesh: error: {message}") and err.count("\n") == 1
