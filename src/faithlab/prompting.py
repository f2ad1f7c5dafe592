"""A `PromptSpec` from what a user writes: a YAML file, a template and `CLASS=WORD` label words (the CLI's
`--prompt`, `--prompt-template`, `--label-words`), or keyword arguments of `fl.load`; one validation for all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from faithlab.errors import FaithlabError
from faithlab.models.prompt import PromptSpec
from faithlab.schema import read_yaml, validate


def prompt_spec(
    file: str | Path | None = None,
    template: str | None = None,
    label_words: Sequence[str] | Mapping[str, str] | None = None,
    **fields: Any,
) -> PromptSpec | None:
    """The prompt the options describe, or None when none is given.

    Args:
        file: a YAML file with the fields of `PromptSpec` (template, labels, examples, separator, score).
        template: the template (overrides the file's).
        label_words: `CLASS=WORD` items (the word is kept as written, leading space included) or a mapping; they
            replace the file's labels.
        **fields: further `PromptSpec` fields (examples, separator, score), over the file's.

    Returns:
        The validated `PromptSpec`; a bad or incomplete one raises one `FaithlabError` naming the field.
    """
    if file is None and template is None and not label_words and not fields:
        return None
    values = read_yaml(file, "prompt file") if file is not None else {}
    if template is not None:
        values["template"] = template
    if label_words:
        values["labels"] = dict(label_words) if isinstance(label_words, Mapping) else _label_words(label_words)
    return validate(PromptSpec, values | fields, "prompt: ")


def _label_words(items: Sequence[str]) -> dict[str, str]:
    labels = {}
    for item in items:
        name, sep, word = item.partition("=")
        if not sep or not name.strip() or not word.strip():
            raise FaithlabError(f"write a label word as CLASS=WORD (e.g. 'positive= good'), got {item!r}")
        labels[name.strip()] = word
    return labels
