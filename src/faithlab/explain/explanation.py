"""`Explanation`: one text's token attributions for one target class, with provenance; serialises without the model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from faithlab.errors import FaithlabError

WORD_AGGREGATIONS = ("sum", "mean", "absmax")


@dataclass
class Explanation:
    """Signed token scores: higher means more evidence for the target class.

    `word_ids[t]` points into `words` (None for special tokens); `words[w]` is (side, start, end) in the text
    (side 0) or the pair text (side 1). `extras` holds method-specific results (IG convergence delta, LRP gap,
    occlusion table, ...). Special tokens keep their score, usually 0; views such as `normalized` never mutate.
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
    warnings: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        if self.scores.shape != (len(self.tokens),):
            raise FaithlabError(f"{self.method}: {self.scores.shape[0]} scores for {len(self.tokens)} tokens")
        if not np.all(np.isfinite(self.scores)):
            raise FaithlabError(f"{self.method} produced non-finite scores for {self.text[:40]!r}")

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def content(self) -> np.ndarray:
        """Indices of tokens that come from the text (not special tokens)."""
        return np.array([t for t, w in enumerate(self.word_ids) if w is not None], dtype=int)

    def word_text(self, word: int) -> str:
        side, start, end = self.words[word]
        return (self.text if side == 0 else self.pair or "")[start:end]

    @property
    def word_strings(self) -> list[str]:
        return [self.word_text(w) for w in range(len(self.words))]

    def word_scores(self, how: str = "sum") -> np.ndarray:
        """Scores per word from the tokenizer's word ids: 'sum', 'mean' or 'absmax' (signed value of largest |s|)."""
        if how not in WORD_AGGREGATIONS:
            raise FaithlabError(f"unknown word aggregation '{how}'; choose one of {', '.join(WORD_AGGREGATIONS)}")
        out = np.zeros(len(self.words))
        for w in range(len(self.words)):
            part = self.scores[[t for t, wid in enumerate(self.word_ids) if wid == w]]
            if how == "sum":
                out[w] = part.sum()
            elif how == "mean":
                out[w] = part.mean()
            else:
                out[w] = part[np.argmax(np.abs(part))]
        return out

    def normalized(self, how: str = "l1") -> np.ndarray:
        """Scores divided by their L1 norm ('l1') or largest magnitude ('max'); zeros stay zeros."""
        if how not in ("l1", "max"):
            raise FaithlabError(f"unknown normalisation '{how}'; choose 'l1' or 'max'")
        scale = np.abs(self.scores).sum() if how == "l1" else np.abs(self.scores).max(initial=0.0)
        return self.scores / scale if scale > 0 else self.scores.copy()

    def top_tokens(self, k: int = 5) -> list[tuple[str, float]]:
        """The k content tokens with the highest score."""
        order = sorted(self.content, key=lambda t: -self.scores[t])[:k]
        return [(self.tokens[t], float(self.scores[t])) for t in order]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scores"] = self.scores.tolist()
        out["words"] = [list(w) for w in self.words]
        out["extras"] = _jsonable(self.extras)
        out["settings"] = _jsonable(self.settings)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        data = dict(data)
        data["words"] = [tuple(w) for w in data["words"]]
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
