"""`faithlab zoo build` is byte-reproducible: the same seed writes the same files, whatever the process.

Each build runs in its own interpreter with its own PYTHONHASHSEED; the Rust tokenizer trainers also seed their
hash maps anew per process, which is what made WordPiece and Unigram vocabularies differ from build to build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faithlab.models.zoo import ZOO_FAMILIES

SRC = Path(__file__).resolve().parents[2] / "src"


def _build(folder: Path, hash_seed: str) -> dict[str, bytes]:
    """Run `faithlab zoo build` (every family, size xs) in a fresh interpreter; every file's bytes by path."""
    env = os.environ | {"PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", "from faithlab.cli import app; app()", "zoo", "build", "--out", str(folder),
               "--size", "xs", "--seed", "3"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    root = tmp_path_factory.mktemp("zoo-builds")
    return _build(root / "first", "1"), _build(root / "second", "2")


def test_two_builds_write_the_same_files(two_builds: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    first, second = two_builds
    assert sorted(first) == sorted(second)
    for family in ZOO_FAMILIES:
        for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
            assert f"{family}-xs/{name}" in first


@pytest.mark.parametrize("family", ZOO_FAMILIES)
def test_every_file_has_the_same_bytes(two_builds: tuple[dict[str, bytes], dict[str, bytes]], family: str) -> None:
    first, second = two_builds
    differing = [name for name in first if name.startswith(f"{family}-") and first[name] != second.get(name)]
    assert differing == []
