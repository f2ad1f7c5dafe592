"""`PromptSpec`: how a causal language model is asked to classify a text (template, label words, few-shot examples).

The template is plain text with a `{text}` slot and, for sentence pairs, a `{text_pair}` slot; nothing else in it is
interpreted, so braces in the template or the texts are safe. Rendering returns the string together with the
character spans of the text and the pair, which is how tokens are later told apart from the prompt's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from faithlab.errors import FaithlabError

TEXT, PAIR = "{text}", "{text_pair}"
SCORES = {
    "log_odds": "the labels' log-probabilities minus their mean over the labels: differences between classes are "
                "log-odds, independent of the probability the model gives to words that are no label",
    "log_prob": "each label's log-probability, summed over its tokens (teacher-forced)",
}


class FewShotExample(BaseModel):
    """One solved example shown before the text: the template filled with `text` (and `pair`), then `label`'s
    word."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    label: str
    pair: str | None = None


class PromptSpec(BaseModel):
    """A zero- or few-shot classification prompt for a causal LM.

    `labels` maps each class name to its label word or phrase, in class order. The phrase is tokenized alone and
    follows the prompt as written: start it with a space where the tokenizer marks word starts (" positive").
    `score` is the class score explained (`SCORES`): 'log_odds' by default, because a classifier's decision is
    between its labels, and because with one-token labels the vocabulary's normaliser then cancels, so the score is
    linear in the LM's logits and LRP's rules cover it. Few-shot `examples` come first, each separated by
    `separator`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str
    labels: dict[str, str]
    examples: list[FewShotExample] = Field(default_factory=list)
    separator: str = "\n\n"
    score: Literal["log_odds", "log_prob"] = "log_odds"

    @field_validator("template")
    @classmethod
    def _one_text_slot(cls, template: str) -> str:
        if template.count(TEXT) != 1 or template.count(PAIR) > 1:
            raise ValueError(f"a template holds {TEXT} once and {PAIR} at most once, got {template!r}")
        return template

    @field_validator("labels")
    @classmethod
    def _two_distinct_words(cls, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) < 2:
            raise ValueError(f"give at least two classes with a label word each, got {labels}")
        words = list(labels.values())
        if any(not w.strip() for w in words) or len(set(words)) != len(words):
            raise ValueError(f"label words must be non-empty and distinct, got {words}")
        return labels

    @model_validator(mode="after")
    def _examples_match(self) -> PromptSpec:
        for i, example in enumerate(self.examples):
            if example.label not in self.labels:
                raise ValueError(f"example {i} has label {example.label!r}; choose one of {list(self.labels)}")
            if (example.pair is not None) != self.has_pair:
                raise ValueError(f"example {i}: give a pair exactly when the template has {PAIR}")
        return self

    @property
    def has_pair(self) -> bool:
        return PAIR in self.template

    @property
    def class_names(self) -> list[str]:
        return list(self.labels)

    def render(self, text: str, pair: str | None = None) -> Rendered:
        """The full prompt for one text: few-shot examples, then the template filled with `text` (and `pair`).

        Returns:
            `Rendered`: the string and the character spans of the text and the pair in it.
        """
        if (pair is not None) != self.has_pair:
            raise FaithlabError(f"the prompt template {'needs' if self.has_pair else 'has no slot for'} a pair "
                                f"text ({PAIR}); {'give' if self.has_pair else 'do not give'} pairs")
        shots = [self._fill(e.text, e.pair)[0] + self.labels[e.label] for e in self.examples]
        prefix = "".join(shot + self.separator for shot in shots)
        filled, spans = self._fill(text, pair)
        text_span = (spans[TEXT][0] + len(prefix), spans[TEXT][1] + len(prefix))
        pair_span = None if pair is None else (spans[PAIR][0] + len(prefix), spans[PAIR][1] + len(prefix))
        return Rendered(prefix + filled, text_span, pair_span)

    def _fill(self, text: str, pair: str | None) -> tuple[str, dict[str, tuple[int, int]]]:
        values = {TEXT: text, PAIR: pair or ""}
        out, spans = "", {}
        for piece in re.split(f"({re.escape(TEXT)}|{re.escape(PAIR)})", self.template):
            if piece in values:
                spans[piece] = (len(out), len(out) + len(values[piece]))
                out += values[piece]
            else:
                out += piece
        return out, spans


@dataclass(frozen=True)
class Rendered:
    """A rendered prompt: `string`, and the [start, end) character spans of the text and the pair text in it."""

    string: str
    text: tuple[int, int]
    pair: tuple[int, int] | None
