"""`Explanation`: one text's token attributions for one target class, with provenance; serialises without the model.

Every explanation records its conventions, so that scores of different methods are never compared blindly:
`output` is the quantity explained, `replacement` how a feature is removed, `special_tokens` whether the scores of
special tokens ([CLS], [SEP], ...) are stored as the method computed them. The vocabularies are below.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from faithlab.errors import FaithlabError
from faithlab.explain.features import feature_ids, feature_keys
from faithlab.explain.groups import GROUPING_RULE

WORD_AGGREGATIONS = ("sum", "mean", "absmax")

# The quantity a method's scores explain.
OUTPUTS = {
    "logit": "the target class's logit",
    "probability": "the target class's softmax probability",
    "margin": "the target logit minus the contrast class's logit",
    "probability_margin": "the target class's softmax probability minus the contrast class's",
    "loss": "log p(target), the negative cross-entropy against the target (a removal that raises the loss scores > 0)",
    "attention": "attention weights or attention flow; no model output, the same for every target class",
    "none": "no model output: scores that do not depend on the model (the random baseline)",
    "unknown": "not recorded (a record written before faithlab recorded its conventions)",
}
# How a method removes a feature: a replacement token, deletion, the input baseline of a gradient method, or nothing.
REPLACEMENTS = {
    "mask": "removed tokens are replaced by the mask token (positions are kept)",
    "pad": "removed tokens are replaced by the pad token (positions are kept)",
    "unk": "removed tokens are replaced by the unknown token (positions are kept)",
    "delete": "removed tokens are deleted (later tokens move up)",
    "baseline:pad": "gradients along the path from the pad-token embedding at every content position",
    "baseline:mask": "gradients along the path from the mask-token embedding at every content position",
    "baseline:unk": "gradients along the path from the unknown-token embedding at every content position",
    "baseline:zero": "gradients along the path from (or linearised at) a zero word embedding",
    "none": "nothing is removed: local gradients, relevance propagation, attention or random scores",
    "mixed": "an ensemble whose members remove features in different ways",
    "unknown": "not recorded (a record written before faithlab recorded its conventions)",
}
# What a method removed together (`granularity`); every token of a feature carries the feature's score.
GRANULARITIES = {
    "token": "each content token is a feature",
    "word": "each tokenizer word is a feature",
    "whitespace": "each whitespace-separated word is a feature",
    "sentence": "each sentence is a feature",
    "group": GROUPING_RULE,
}
# What the stored scores of special tokens are.
SPECIAL_TOKENS = {
    "kept": "special tokens keep the score the method gave them (0 where it never scores them)",
    "zeroed": "special-token scores were set to 0 before storing (records written before they were kept)",
}


@dataclass
class Explanation:
    """Signed token scores: higher means more evidence for the target class.

    `word_ids[t]` points into `words` (None for special tokens); `words[w]` is (side, start, end) in the text
    (side 0) or the pair text (side 1). `extras` holds method-specific results (IG convergence delta, LRP gap,
    occlusion table, ...). `output`, `replacement` and `special_tokens` take a key of `OUTPUTS`, `REPLACEMENTS`
    and `SPECIAL_TOKENS`; an explanation made by hand defaults to 'unknown', 'unknown' and 'kept'.
    Special tokens keep their score (LRP's relevance on [CLS], the rollout mass of [SEP], ...), so sums over all
    tokens mean what the method says; `content` and the views that hide special tokens leave them out and say so.
    Views such as `normalized` never mutate the scores.
    A text longer than the model's limit is read through sliding windows: `windows` lists each window's content
    tokens as [start, end) positions in `tokens` and `window_rule` how the windows' scores were combined
    (`faithlab.models.windows.COMBINATION_RULE`); a text that fits has no windows and no rule. `granularity` is
    the feature unit the method removed (`faithlab.explain.features.UNITS`; 'token' for methods that score each
    token): every token of a feature carries the feature's score. `token_groups` is the user feature group of each
    token (`faithlab.explain.groups`; None outside every group) when the text was explained with groups, else None.
    """

    text: str
    pair: str | None
    tokens: list[str]
    scores: np.ndarray
    word_ids: list[int | None]
    words: list[tuple[int, int, int]]
    target: int
    target_name: str
    method: str
    settings: dict[str, Any]
    probabilities: list[float]
    labels: list[str]
    model: str
    seconds: float
    output: str = "unknown"
    replacement: str = "unknown"
    special_tokens: str = "kept"
    warnings: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    windows: list[tuple[int, int]] = field(default_factory=list)
    window_rule: str | None = None
    granularity: str = "token"
    token_groups: list[int | None] | None = None

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        if self.scores.shape != (len(self.tokens),):
            raise FaithlabError(f"{self.method}: {self.scores.shape[0]} scores for {len(self.tokens)} tokens")
        if self.token_groups is not None and len(self.token_groups) != len(self.tokens):
            raise FaithlabError(f"{self.method}: {len(self.token_groups)} token groups for {len(self.tokens)} tokens")
        if not np.all(np.isfinite(self.scores)):
            raise FaithlabError(f"{self.method} produced non-finite scores for {self.text[:40]!r}")
        for setting, value, choices in (
            ("output", self.output, OUTPUTS),
            ("replacement", self.replacement, REPLACEMENTS),
            ("special_tokens", self.special_tokens, SPECIAL_TOKENS),
            ("granularity", self.granularity, GRANULARITIES),
        ):
            if value not in choices:
                raise FaithlabError(f"{self.method}: unknown {setting} {value!r}; choose one of {', '.join(choices)}")

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def content(self) -> np.ndarray:
        """Indices of tokens that come from the text (not special tokens): the tokens metrics rank and the views
        that hide special tokens show."""
        return np.array([t for t, w in enumerate(self.word_ids) if w is not None], dtype=int)

    def word_text(self, word: int) -> str:
        side, start, end = self.words[word]
        return (self.text if side == 0 else self.pair or "")[start:end]

    @property
    def word_strings(self) -> list[str]:
        return [self.word_text(w) for w in range(len(self.words))]

    def word_scores(self, how: str = "sum") -> np.ndarray:
        """Scores per word from the tokenizer's word ids: 'sum', 'mean' or 'absmax' (signed value of largest |s|)."""
        return self._aggregate(self.word_ids, len(self.words), how)

    def feature_ids(self, unit: str | None = None) -> list[int | None]:
        """The feature (0, 1, ... in text order) of each token at granularity `unit` (default: the explanation's
        own); None for special tokens."""
        content = self.content.tolist()
        keys = feature_keys(self.word_ids, self.words, (self.text, self.pair), content, unit or self.granularity,
                            self.token_groups)
        out: list[int | None] = [None] * len(self.tokens)
        for t, f in zip(content, feature_ids(keys), strict=True):
            out[t] = f
        return out

    def feature_scores(self, unit: str | None = None, how: str = "sum") -> np.ndarray:
        """One score per feature at granularity `unit` (default: the explanation's own). At the granularity the
        method removed, each feature's score (which all its tokens carry); at any other, its tokens' scores
        aggregated by `how` ('sum', 'mean' or 'absmax', as `word_scores`)."""
        ids = self.feature_ids(unit)
        n = max((f for f in ids if f is not None), default=-1) + 1
        if (unit or self.granularity) != self.granularity:
            return self._aggregate(ids, n, how)
        first = {f: t for t, f in reversed(list(enumerate(ids))) if f is not None}
        return np.array([self.scores[first[f]] for f in range(n)])

    def _aggregate(self, ids: list[int | None], n: int, how: str) -> np.ndarray:
        if how not in WORD_AGGREGATIONS:
            raise FaithlabError(f"unknown word aggregation '{how}'; choose one of {', '.join(WORD_AGGREGATIONS)}")
        members: list[list[int]] = [[] for _ in range(n)]
        for t, wid in enumerate(ids):
            if wid is not None:
                members[wid].append(t)
        out = np.zeros(n)
        for w, tokens in enumerate(members):
            part = self.scores[tokens]
            if how == "sum":
                out[w] = part.sum()
            elif how == "mean":
                out[w] = part.mean()
            else:
                out[w] = part[np.argmax(np.abs(part))]
        return out

    def normalized(self, how: str = "l1", *, include_special: bool = False) -> np.ndarray:
        """Scores divided by their L1 norm ('l1') or largest magnitude ('max'); zeros stay zeros.

        Args:
            how: 'l1' or 'max'.
            include_special: False (default) hides special tokens: the scale comes from content tokens only and special
                tokens get 0 in the result. True scales every token, special tokens included.

        Returns:
            One value per token (a new array; the scores are not changed).
        """
        if how not in ("l1", "max"):
            raise FaithlabError(f"unknown normalisation '{how}'; choose 'l1' or 'max'")
        shown = self.scores.copy()
        if not include_special:
            hidden = np.ones(len(shown), dtype=bool)
            hidden[self.content] = False
            shown[hidden] = 0.0
        scale = np.abs(shown).sum() if how == "l1" else np.abs(shown).max(initial=0.0)
        return shown / scale if scale > 0 else shown

    def top_tokens(self, k: int = 5) -> list[tuple[str, float]]:
        """The k content tokens with the highest score."""
        order = sorted(self.content, key=lambda t: -self.scores[t])[:k]
        return [(self.tokens[t], float(self.scores[t])) for t in order]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scores"] = self.scores.tolist()
        out["words"] = [list(w) for w in self.words]
        out["windows"] = [list(w) for w in self.windows]
        out["extras"] = _jsonable(self.extras)
        out["settings"] = _jsonable(self.settings)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        """The explanation of `to_dict`; a dict written before conventions were recorded reads with output and
        replacement 'unknown' and special_tokens 'zeroed' (special-token scores were then stored as 0)."""
        data = {"output": "unknown", "replacement": "unknown", "special_tokens": "zeroed"} | dict(data)
        data["words"] = [tuple(w) for w in data["words"]]
        data["windows"] = [tuple(w) for w in data.get("windows", [])]
        return cls(**data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "tolist"):  # torch tensors
        return value.tolist()
    return value
