"""The README's two set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```(?:bash|sh)\n(.*?)```", text, re.S)
    assert block, "README.md has no shell block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_exactly_two_commands() -> None:
    assert len(readme_setup_commands()) == 2


def test_ci_runs_the_readme_test_command() -> None:
    test_command = readme_setup_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_readme_python_example_runs(tmp_path) -> None:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README.md has no Python example"
    for block in blocks:
        code = block.replace("/tmp/talkmesh-example", str(tmp_path / "example"))
        exec(compile(code, "README.md", "exec"), {})


def test_every_subpackage_is_installed():
    """`pip install .` (not editable) ships only the packages pyproject lists: a new subpackage
    missing there imports in the dev checkout and fails on a user's install."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(root).parts)
        for init in (root / "talkmesh_jax").rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)
