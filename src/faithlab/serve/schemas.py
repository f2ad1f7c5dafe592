"""What the app accepts and how much: request bodies (pydantic, so the OpenAPI description is exact) and limits.

Limits keep one request from holding the single worker for minutes: text length, number of methods, and the
sample budgets of the sampled methods. Crossing one is the caller's mistake, answered with a 4xx and a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from faithlab.errors import FaithlabError
from faithlab.explain.settings import TEXT_UNITS

DeletionOutput = Literal["logit", "probability", "margin", "probability_margin", "loss"]
# the settings that set how many model passes a method spends
BUDGET_SETTINGS = ("n_samples", "n_steps", "max_steps")


@dataclass(frozen=True)
class Limits:
    """The most one request may ask for."""

    max_chars: int = 1000  # text plus pair text
    max_methods: int = 6
    max_budget: int = 2048  # any of BUDGET_SETTINGS
    max_queue: int = 64  # requests waiting for the worker beyond this are refused (429)
    grid_tokens: int = 64  # the attention grid (every layer and head) is sent for texts up to this many tokens

    def check(self, request: TextRequest) -> None:
        """Raise a FaithlabError naming the limit a request crosses."""
        size = len(request.text) + len(request.pair or "")
        if size > self.max_chars:
            raise FaithlabError(f"the text is {size} characters long; the limit is {self.max_chars}")
        methods = getattr(request, "methods", {})
        if len(methods) > self.max_methods:
            raise FaithlabError(f"{len(methods)} methods asked for; the limit is {self.max_methods}")
        for method, settings in methods.items():
            self._check_budget(method, settings)

    def _check_budget(self, where: str, settings: Any) -> None:
        """Every budget setting, also those nested in an ensemble's member settings."""
        if not isinstance(settings, dict):
            return
        for key, value in settings.items():
            budget = key in BUDGET_SETTINGS and isinstance(value, int) and not isinstance(value, bool)
            if budget and value > self.max_budget:
                raise FaithlabError(f"{where}.{key}={value} is over the sample budget limit {self.max_budget}")
            self._check_budget(f"{where}.{key}", value)


class TextRequest(BaseModel):
    """One text (or a pair) and the class to explain (None: the predicted class)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="the text to explain")
    pair: str | None = Field(default=None, description="the second text of a pair (NLI hypothesis)")
    target: str | None = Field(default=None, description="a label name; None explains the predicted class")


class ExplainRequest(TextRequest):
    methods: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"grad_x_input": {}, "occlusion": {}},
        description="method name → its settings (see GET /api/info for each method's settings schema)",
    )


class EditRequest(ExplainRequest):
    """Delete (replacement None) or replace one whitespace-separated word of the text, then explain both texts."""

    word: int = Field(ge=0, description="index of the whitespace-separated word of the text to edit")
    replacement: str | None = Field(default=None, description="the new word; None deletes the word")


class AttentionRequest(TextRequest):
    layer: int = Field(default=0, ge=0, description="the layer of the head matrix and of the mean over heads")
    head: int = Field(default=0, ge=0)
    top_k: int = Field(default=10, ge=1, le=100, description="tokens in the top list (specials, punctuation left out)")


class DeletionRequest(TextRequest):
    """Per-word leave-one-out (occlusion) on the chosen output, against a fixed contrast class for margins."""

    output: DeletionOutput = "probability_margin"
    unit: Literal[TEXT_UNITS] = "whitespace"  # type: ignore[valid-type]
    contrast: str | None = Field(default=None, description="the other class of a margin; None: the runner-up")
