"""Names the docstring examples of src/faithlab use, for `pytest --doctest-modules` (not part of the package).

Examples run on `model`, a tiny random BERT classifier (labels 'negative', 'positive') built offline once per session,
so they need no download and take milliseconds. Test modules under tests/ do not pay for it: the namespace is filled
only for doctest items.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SOURCES = Path(__file__).resolve().parent / "src"

DOCTEST_CORPUS = [
    "a warm and funny film",
    "dull and slow , a boring movie",
    "the plot is clever although the ending drags",
    "i loved every minute of it",
    "the premise is a man walks his dog",
    "a woman is playing the guitar",
] * 3


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny random BERT classifier, the folder `fl.load` reads in the examples."""
    from faithlab.models.zoo import Size, build_classifier_folder

    size = Size(layers=2, hidden=32, heads=2, vocab=200)
    return build_classifier_folder("bert", DOCTEST_CORPUS, tmp_path_factory.mktemp("doctest-model"), size=size, seed=1)


@pytest.fixture(scope="session")
def doctest_names(tiny_model_folder: Path) -> dict[str, object]:
    import faithlab
    import faithlab as fl

    return {"fl": fl, "faithlab": faithlab, "model": fl.load(tiny_model_folder), "tiny_model_folder": tiny_model_folder}


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, doctest_namespace: dict[str, object]) -> None:
    if request.node.path.is_relative_to(SOURCES):  # a docstring example of the package
        doctest_namespace.update(request.getfixturevalue("doctest_names"))
