"""The one config system: `configs/<name>.py` (`get_config()` → ConfigDict) or a resolved
`config.json`, dotted `key=value` overrides, and the resolved config written into the run.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
from pathlib import Path

import ml_collections

from talkmesh_jax import TalkmeshError
from talkmesh_jax.fileio import read_json, write_json


def builtin_configs() -> dict[str, Path]:
    """name → file of the configs shipped with the package (the repository's `configs/`)."""
    import talkmesh_jax.configs

    folder = Path(talkmesh_jax.configs.__file__).parent
    return {p.stem: p for p in sorted(folder.glob("*.py")) if not p.stem.startswith("_")}


def resolve_config_path(name: str | os.PathLike) -> Path:
    """An existing file, else a shipped config's name (`tiny` or `tiny.py`)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = builtin_configs()
    if path.parent == Path(".") and path.suffix in ("", ".py") and path.stem in shipped:
        return shipped[path.stem]
    raise TalkmeshError(f"{name}: no such config file (shipped configs: {', '.join(shipped)})")


def load_config(path: str | os.PathLike) -> ml_collections.ConfigDict:
    """A `.py` file with `get_config()` or a `.json` file (e.g. a run's resolved config), or the
    name of a shipped config (`tiny`, `original`, `large_gpu`)."""
    path = resolve_config_path(path)
    if path.suffix == ".json":
        data = read_json(path)
        if not isinstance(data, dict):
            raise TalkmeshError(f"{path}: a config must be a JSON object")
        return ml_collections.ConfigDict(data)
    if path.suffix != ".py":
        raise TalkmeshError(f"{path}: a config is a .py file with get_config() or a .json file")
    spec = importlib.util.spec_from_file_location(f"talkmesh_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - any error in the user's file is theirs
        raise TalkmeshError(f"{path}: cannot be loaded ({type(err).__name__}: {err})") from None
    if not hasattr(module, "get_config"):
        raise TalkmeshError(f"{path}: has no get_config() function")
    try:
        config = module.get_config()
    except Exception as err:  # noqa: BLE001 - likewise
        raise TalkmeshError(f"{path}: get_config() failed ({type(err).__name__}: {err})") from None
    if not isinstance(config, ml_collections.ConfigDict):
        raise TalkmeshError(f"{path}: get_config() must return an ml_collections.ConfigDict")
    return config


def _parse_value(text: str):
    """A Python literal, else a bare string (adamw, /data/synth); `[a, b]` of bare words is a
    list of them (extra_contexts=[trailing])."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        items = [item.strip() for item in inner[1:-1].split(",") if item.strip()]
        return [_parse_value(item) for item in items]
    return text


def apply_overrides(config: ml_collections.ConfigDict, overrides: list[str]) -> None:
    """Applies `a.b.c=value` strings (values as Python literals, else strings) in place.

    Only existing keys can be set, so a typo is an error rather than a silently ignored option.
    """
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep:
            raise TalkmeshError(f"override {override!r}: expected key=value")
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
                raise TalkmeshError(f"override {override!r}: no config section {part!r}")
            node = node[part]
        if leaf not in node:
            raise TalkmeshError(f"override {override!r}: unknown key {key!r}")
        value = _parse_value(text)
        old = node[leaf]
        if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        try:
            with node.unlocked():
                node[leaf] = value
        except TypeError:
            raise TalkmeshError(
                f"override {override!r}: {key} must be of type {type(old).__name__} (now "
                f"{old!r}), not {value!r}"
            ) from None


def config_to_dict(config: ml_collections.ConfigDict) -> dict:
    """Plain JSON-able dict of a ConfigDict."""
    return json.loads(config.to_json())


def save_config(config: ml_collections.ConfigDict, path: str | os.PathLike) -> None:
    write_json(path, config_to_dict(config))
