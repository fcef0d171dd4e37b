"""Every `talkmesh bench …` subcommand runs through the CLI in a seconds-long mode (small sizes,
short rounds) and writes the JSON keys its README figures come from. A new subcommand without an
entry here fails `test_every_bench_subcommand_is_run`."""

from __future__ import annotations

import argparse
import json

import pytest

from talkmesh_jax.cli import build_parser, main

SMALL_TINY = [
    "data.batch_size=2",
    "data.window_frames=32",
    "model.num_landmarks=468",
    "model.feature_dim=32",
    "model.audio_encoder.conv_channels=16",
    "model.audio_encoder.conv_features=16",
]
SMALL_MESHTALK = [
    "data.batch_size=2",
    "data.window_frames=16",
    "model.meshtalk.num_heads=8",
    "model.meshtalk.num_classes=8",
    "model.meshtalk.feature_dim=32",
]
SMOKE = {
    "loader": ["--minutes", "0.5", "--batch-size", "2", "--round-seconds", "0.01"],
    "encoder": ["--size", "tiny", "--batch-size", "1", "--window-seconds", "1"]
    + ["--round-seconds", "0.01"],
    "train": ["--config", "tiny", "--inference-seconds", "3", "--round-seconds", "0.05"]
    + ["--no-anchor", *SMALL_TINY],
    "meshtalk": ["--sample-seconds", "1", "--round-seconds", "0.01", "--mesh-levels", "0"]
    + SMALL_MESHTALK,
    "export": ["--seconds", "3", "--rounds", "1", "--stream-seconds", "1"]
    + ["--memory-minutes", "0.5", "--seam-minutes", "0.2", "--whisper-size", "tiny"],
    "whisper-context": ["--seconds", "3"],  # + --checkpoint (the real tiny.en)
    "retarget": ["--frames", "100", "--scipy-frames", "20", "--round-seconds", "0.01"]
    + ["--process-seconds", "4"],
}


def _bench_names() -> set[str]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    bench = commands.choices["bench"]
    kinds = next(a for a in bench._actions if isinstance(a, argparse._SubParsersAction))
    return set(kinds.choices)


def test_every_bench_subcommand_is_run():
    assert _bench_names() == set(SMOKE)


def _check_loader(results: dict, printed: str) -> None:
    assert results["cpp_windows_per_s"] > 0 and results["numpy_windows_per_s"] > 0


def _check_encoder(results: dict, printed: str) -> None:
    assert results["jax_padded_audio_s_per_s"] > 0
    # 1 s windows are a thirtieth of the padded work: far faster (measured ≥ 8x even at 5 s)
    assert results["jax_window_audio_s_per_s"] > 3 * results["jax_padded_audio_s_per_s"]
    for kind in ("float32", "int8"):  # CTranslate2 on the same weights and log-mel
        assert results[f"ct2_{kind}_audio_s_per_s"] > 0 and results[f"ct2_{kind}_ratio"] > 0
        with_mel = 1 / (
            1 / results["ct2_log_mel_audio_s_per_s"] + 1 / results[f"ct2_{kind}_audio_s_per_s"]
        )
        assert results[f"ct2_{kind}_ratio"] == pytest.approx(
            results["jax_padded_audio_s_per_s"] / with_mel
        )
    assert results["encoder_only_max_abs_diff_jax_vs_ct2_float32"] < 1e-4  # the same encoder
    assert results["encoder_only_max_abs_diff_jax_vs_ct2_int8"] < 0.5  # quantized, but close
    assert results["padded_max_abs_diff_jax_vs_ct2_float32"] < 1e-3
    assert (
        "(h) CTranslate2 float32, encode" in printed
        and "(e) ours (what the encoder calls)" in printed
    )
    assert results["threads"] >= 1 and results["machine"]["libraries"]["ctranslate2"]
    attention = results["attention"]
    assert attention["shape_b_t_h_d"] == [1, 1500, 6, 64]
    if "torch" in results["skipped"]:  # no torch-reference extra: no torch rows, said why
        assert "torch-reference" in results["skipped"]["torch"]
        assert "torch_padded_audio_s_per_s" not in results
        assert set(attention["calls_per_s"]) == {"jax_attention", "jax_sliced_attention"}
        return
    assert results["padded_max_abs_diff_jax_vs_torch"] < 1e-3  # same weights, same answer
    assert set(attention["calls_per_s"]) == {
        "torch_attention",
        "jax_attention",
        "jax_sliced_attention",
    }
    assert attention["max_abs_diff_jax_vs_torch"] < 1e-4  # the same attention on both sides
    assert results["config"]["tf32"] is True


def _check_train(results: dict, printed: str) -> None:
    for key in (
        "teacher_forcing_steps_per_s",
        "autoregressive_steps_per_s",
        "original_procedure_steps_per_s",
        "cached_inference_fps",
        "uncached_inference_fps",
    ):
        assert results[key] > 0, key
    assert results["window_frames"] == 32 and results["batch_frames"] == 64
    # 32 frames: the original procedure runs the decoder 32 times on 8-32 frames (measured 9.6x);
    # inference in windows of 32: 32 steps of 1 frame vs of 8-32 frames per window.
    assert results["teacher_forcing_vs_original"] > 3
    assert results["cached_vs_uncached_inference"] > 1.2
    memory = results["step_temp_memory_bytes"]
    assert memory["autoregressive"] < memory["autoregressive_without_remat"]
    for mode in ("teacher_forcing", "autoregressive", "original_procedure"):
        spread = results["rounds"][mode]
        assert spread["min"] <= results[f"{mode}_steps_per_s"] <= spread["max"]
    assert "teacher forcing / original" in printed


def _check_meshtalk(results: dict, printed: str) -> None:
    for part in ("landmark_steps_per_s", "mesh_steps_per_s"):
        assert results[part]["autoencoder"] > 0 and results[part]["context"] > 0
    assert results["mesh_vertices"] == 468
    for key in ("sampling_fps", "teacher_forced_fps", "export_fps"):
        assert results[key] > 0, key
    # the same work without the sequential order is faster
    assert results["teacher_forced_fps"] > results["sampling_fps"]
    one_core = results["sampling_one_core"]
    assert one_core["cpus_allowed"] == 1 and one_core["xla_flags"].startswith("--xla_")


def _check_export(results: dict, printed: str) -> None:
    for key in (
        "rtf_tiny_process",
        "rtf_original_defaults_process",
        "rtf_tiny_steady",
        "rtf_original_defaults_steady",
        "rtf_tiny_cold_in_process",
        "stream_latency_ms_tiny",
        "rtf_whisper_tiny_process",
        "rtf_whisper_base_process",
        "stream_latency_ms_whisper_tiny",
        "stream_rtf_whisper_tiny",
    ):
        assert results[key] > 0, key
    assert results["whisper_base_whisper"] == "base, context chunked"
    whisper_stream = results["stream_whisper_tiny"]
    assert whisper_stream["lookahead_ms"] == 80.0  # whisper_tiny_stream: 2 frames
    assert whisper_stream["difference_from_offline"]["max"] < 1e-4  # streamed = exported
    assert results["stream_frames_late"] >= 0
    assert results["original_defaults_whisper"] == "tiny, context chunked"
    assert results["memory_0.5min"]["peak_rss_mb"] > 100
    assert abs(results["memory_growth_mb_0.5min"]) < 100
    latency = results["stream"][f"{results['stream_lookahead_ms_tiny']:.0f}ms"]["latency_ms"]
    assert latency["frames"] == 25  # every frame counted, those flush() releases too
    assert "one process (headline)" in printed


def _check_retarget(results: dict, printed: str) -> None:
    assert results["builtin"]["round_trip_max_error_mouth"] <= 0.02
    assert results["builtin"]["targets"] == 15 and results["arkit52"]["landmarks"] == 478
    assert results["arkit52"]["steady_fps"] > 0 and results["scipy"]["fps"] > 0
    assert results["scipy"]["max_difference_from_ours"] < 0.01  # the same solution as scipy's
    process = results["process"]
    assert process["audio_seconds"] == 4 and process["retarget_process_s"] > 0
    assert results["rtf_retarget_process"] == 4 / process["retarget_process_s"]
    assert "frames/s" in printed and "one talkmesh retarget process (headline, cold)" in printed


def _check_whisper_context(results: dict, printed: str) -> None:
    short = results["groups"]["under_6s"]
    assert short["chunked_margin_5s"]["relative_rms"] < 1e-6  # a clip ≤ 30 s is one chunk
    assert short["window"]["relative_rms"] > 0.1  # a window alone is not Whisper's context
    assert "under_6s" in printed


# encoder runs in both CI steps: CTranslate2 rows alone, then with the torch rows
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=[pytest.mark.torch_reference] if name == "encoder" else [])
        for name in sorted(SMOKE)
    ],
)
def test_bench_runs_through_the_cli(name, tmp_path, capsys, request):
    args = list(SMOKE[name])
    if name == "whisper-context":
        args += ["--checkpoint", str(request.getfixturevalue("tiny_en_ct2"))]
    out = tmp_path / f"{name}.json"
    assert main(["bench", name, *args, "--no-progress", "--json", str(out)]) == 0
    checks = {
        "loader": _check_loader,
        "encoder": _check_encoder,
        "train": _check_train,
        "meshtalk": _check_meshtalk,
        "export": _check_export,
        "whisper-context": _check_whisper_context,
        "retarget": _check_retarget,
    }
    checks[name](json.loads(out.read_text()), capsys.readouterr().out)


def test_bench_train_times_the_feature_cache_with_its_batches():
    """A frozen Whisper config also gets `bench train`'s feature-cache rows (the function the CLI
    run above calls; here alone, on `original` with Whisper tiny): both sides timed with their
    batches, medians of rounds within their spread (no timing is asserted)."""
    from talkmesh_jax.bench.train import TrainBenchConfig, feature_cache_rates
    from talkmesh_jax.config import apply_overrides, load_config
    from talkmesh_jax.train.loop import resolve_encoder_architecture

    config = load_config("original")
    apply_overrides(
        config, ["model.audio_encoder.checkpoint=None", "model.audio_encoder.size=tiny"]
    )
    apply_overrides(config, ["data.window_frames=25", "data.batch_size=2"])
    resolve_encoder_architecture(config)
    cache = feature_cache_rates(config, TrainBenchConfig(round_seconds=0.05), progress=False)
    for side, key in (("window", "window_encoder_every_step"), ("chunked", "cached_features")):
        spread = cache["rounds"][side]
        assert spread["min"] <= cache[f"{key}_steps_per_s"] <= spread["max"]
    # the ratio is the bench's figure, not a test's: a timed assertion fails on a loaded machine
    rates = (cache["cached_features_steps_per_s"], cache["window_encoder_every_step_steps_per_s"])
    assert cache["speedup"] == pytest.approx(rates[0] / rates[1])
    assert cache["cache_encode_seconds_per_audio_minute"] > 0
