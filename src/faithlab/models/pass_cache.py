"""`PassCache`: what the explainers of one run share about one batch, so that no pass runs twice.

Every `Batch` carries one. It holds the batch's logits and attentions, the embedding gradients per (output,
targets), each method's plan (masks to score, path endpoints), each method's prepared first pass (single use) and
each method's attributions per (settings, targets). Entries are references to the tensors the passes produced,
never copies. It lives in `models/` because `Classifier` fills the logits and attentions; what explainers store in
the method slots is theirs to type, and each accessor checks it gets back the type it asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

import torch

if TYPE_CHECKING:
    from faithlab.models.windows import WindowRows

T = TypeVar("T")


class Method(Protocol):
    """What the cache needs of an explainer to key its entries: its name and its settings as one string."""

    name: str

    def settings_key(self) -> str: ...


class EmbeddingGradients(NamedTuple):
    """d output / d word embedding of every token and the word embeddings themselves, each (rows, width, dim)."""

    gradients: torch.Tensor
    embeddings: torch.Tensor


Targets = tuple[int, ...]
MethodKey = tuple[str, str]  # (name, settings key)


@dataclass
class PassCache:
    """Passes shared by the explainers run on one batch; see the module docstring and `Explainer`'s contract.

    `logits` (rows, classes) and `attentions` (per layer: rows, heads, tokens, tokens) are None until a pass
    computes them; `Classifier.batch_logits` and `Classifier.attentions` fill them, and a method's `prepare` may
    set `logits` from its own pass. `windows` holds the window batch of a batch with texts longer than the limit
    (`faithlab.models.windows.shared_window_rows`), with its own cache.
    """

    logits: torch.Tensor | None = None
    windows: WindowRows | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    _gradients: dict[tuple[str, Targets], EmbeddingGradients] = field(default_factory=dict, repr=False)
    _plans: dict[MethodKey, object] = field(default_factory=dict, repr=False)
    _prepared: dict[tuple[MethodKey, Targets | None], object] = field(default_factory=dict, repr=False)
    _attributions: dict[tuple[MethodKey, Targets], object] = field(default_factory=dict, repr=False)

    def embedding_gradients(self, output: str, targets: torch.Tensor) -> EmbeddingGradients | None:
        """The embedding gradients of `output` ('logit' or 'probability') for these targets, if computed."""
        return self._gradients.get((output, _targets(targets)))

    def store_embedding_gradients(self, output: str, targets: torch.Tensor, value: EmbeddingGradients) -> None:
        """Keep embedding gradients for every method that differentiates `output` for these targets."""
        self._gradients[(output, _targets(targets))] = value

    def plan(self, method: Method, kind: type[T], build: Callable[[], T]) -> T:
        """A method's per-batch plan (the masks it scores, the path endpoints it walks): built on first use, then
        reused by `prepare` and `attribute` alike (not consumed)."""
        key = _method_key(method)
        if key not in self._plans:
            self._plans[key] = build()
        return _checked(self._plans[key], kind, "plan", key)

    def put_prepared(self, method: Method, targets: torch.Tensor | None, value: object) -> None:
        """Keep the first pass a method's `prepare` ran, for its `attribute` with the same targets (None: a pass
        that does not depend on the targets, e.g. scored masks)."""
        self._prepared[(_method_key(method), None if targets is None else _targets(targets))] = value

    def take_prepared(self, method: Method, targets: torch.Tensor | None, kind: type[T]) -> T | None:
        """The prepared first pass of `method` for these targets, removed from the cache (single use: `attribute`
        consumes it, and its result is cached as attributions); None when `prepare` did not run it."""
        key = (_method_key(method), None if targets is None else _targets(targets))
        value = self._prepared.pop(key, None)
        return None if value is None else _checked(value, kind, "prepared pass", key)

    def pending_prepared(self) -> list[str]:
        """Names of the methods whose prepared pass no `attribute` has taken yet: once a run is over, each one is
        a pass computed for nothing (the contract test checks there are none)."""
        return [name for (name, _settings), _targets in self._prepared]

    def attributions(self, method: Method, targets: torch.Tensor, kind: type[T]) -> T | None:
        """A method's attributions of this batch for these targets, if already computed."""
        key = (_method_key(method), _targets(targets))
        value = self._attributions.get(key)
        return None if value is None else _checked(value, kind, "attributions", key)

    def store_attributions(self, method: Method, targets: torch.Tensor, value: object) -> None:
        """Keep a method's attributions, so an ensemble and the method requested alone compute them once."""
        self._attributions[(_method_key(method), _targets(targets))] = value


def _targets(targets: torch.Tensor) -> Targets:
    return tuple(targets.tolist())


def _method_key(method: Method) -> MethodKey:
    return (method.name, method.settings_key())


def _checked(value: object, kind: type[T], slot: str, key: object) -> T:
    """The stored value, which must be a `kind`: two methods writing one key with different types is a bug."""
    if not isinstance(value, kind):
        raise TypeError(f"{slot} cached under {key!r} is a {type(value).__name__}, not a {kind.__name__}")
    return value
