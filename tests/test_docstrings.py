"""Every registered explainer and every evaluator documents itself: what it computes, Args, Returns and an Example
(run as a doctest by the test command); an explainer's Args name exactly its settings, each with its current default,
and `faithlab methods NAME` prints the whole docstring."""

from __future__ import annotations

import doctest
import inspect
import re
from collections.abc import Callable

import pytest
from pydantic_core import PydanticUndefined
from typer.testing import CliRunner

import faithlab as fl
from faithlab.cli import app
from faithlab.evaluate import (
    evaluate_attack,
    evaluate_faithfulness,
    evaluate_ground_truth,
    evaluate_plausibility,
    evaluate_randomization,
)
from faithlab.explain import EXPLAINERS

SECTIONS = ("Args", "Returns", "Example")
EVALUATORS = [evaluate_faithfulness, evaluate_ground_truth, evaluate_plausibility, evaluate_randomization,
              evaluate_attack]
NO_SETTINGS = "This method takes no settings."
ENTRY = re.compile(r"^    (\w+(?:, \w+)*): (.*)$")  # "name: text" or "a, b: text" at the first level of a section


def sections(doc: str | None) -> dict[str, str]:
    """The Google-style sections of a docstring ('Args', 'Returns', 'Example', ...) → their indented text."""
    found: dict[str, list[str]] = {}
    current = None
    for line in inspect.cleandoc(doc or "").splitlines():
        heading = re.fullmatch(r"(\w+):", line)
        if heading:
            current = heading.group(1)
            found[current] = []
        elif current is not None and (line.startswith(" ") or not line):
            found[current].append(line)
        else:
            current = None
    return {name: "\n".join(lines).rstrip() for name, lines in found.items()}


def entries(args: str) -> dict[str, str]:
    """Each documented argument → its description, continuation lines joined by single spaces."""
    out: dict[str, str] = {}
    names: list[str] = []
    for line in args.splitlines():
        match = ENTRY.match(line)
        if match:
            names = match.group(1).split(", ")
            out.update(dict.fromkeys(names, match.group(2)))
        elif line.strip() and names:
            out.update({name: f"{out[name]} {line.strip()}" for name in names})
    return out


def default_text(value: object) -> str:
    return f"(default {value!r}"


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_every_explainer_has_a_summary_args_returns_and_an_example(name: str):
    doc = EXPLAINERS[name].__doc__
    found = sections(doc)
    assert set(SECTIONS) <= set(found), f"{name}: missing {set(SECTIONS) - set(found)}"
    assert ">>>" in found["Example"]
    summary = inspect.cleandoc(doc).partition("\n\n")[0]
    assert summary and not summary.startswith(SECTIONS), f"{name}: the first paragraph must say what it computes"
    assert re.search(r"(19|20)\d\d", doc), f"{name}: cite the paper (authors and year)"


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_explainer_args_are_exactly_its_settings_with_their_current_defaults(name: str):
    cls = EXPLAINERS[name]
    args = sections(cls.__doc__)["Args"]
    documented = entries(args)
    fields = cls.Settings.model_fields
    assert set(documented) == set(fields), f"{name}: Args {sorted(documented)} but settings {sorted(fields)}"
    if not fields:
        assert args.strip() == NO_SETTINGS
    for field, info in fields.items():
        default = info.default_factory() if info.default is PydanticUndefined else info.default
        assert default_text(default) in documented[field], f"{name}.{field}: say '{default_text(default)})'"


@pytest.mark.parametrize("evaluator", [*EVALUATORS, fl.evaluate], ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_every_evaluator_has_args_returns_and_an_example(evaluator: Callable):
    found = sections(evaluator.__doc__)
    assert set(SECTIONS) <= set(found), f"missing {set(SECTIONS) - set(found)}"
    assert ">>>" in found["Example"]


@pytest.mark.parametrize("evaluator", EVALUATORS, ids=lambda f: f.__name__)
def test_evaluator_args_name_every_parameter_with_its_default(evaluator: Callable):
    documented = entries(sections(evaluator.__doc__)["Args"])
    parameters = inspect.signature(evaluator).parameters
    assert set(documented) == set(parameters), f"Args {sorted(documented)} but parameters {sorted(parameters)}"
    for name, parameter in parameters.items():
        expected = default_text(parameter.default)
        if parameter.default is not inspect.Parameter.empty:
            assert expected in documented[name], f"{name}: say '{expected})'"


@pytest.mark.parametrize("documented", [*EXPLAINERS.values(), *EVALUATORS, fl.evaluate], ids=lambda o: o.__name__)
def test_each_example_is_a_doctest(documented: object):
    tests = doctest.DocTestFinder(recurse=False).find(documented, globs={})
    assert tests and tests[0].examples, "the Example must hold >>> lines that run"


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_faithlab_methods_name_prints_the_whole_docstring(name: str):
    result = CliRunner().invoke(app, ["methods", name])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.stdout.split())  # the console wraps long lines
    assert " ".join(inspect.cleandoc(EXPLAINERS[name].__doc__).split()) in printed
