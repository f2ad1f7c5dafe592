"""User feature groupings: a phrase, a named entity or a clause removed and scored as one feature.

A `FeatureGrouping` gives one text's features, as character spans of the text or as a feature id per token, and
resolves to a group per token (`token_groups`), which batches and explanations carry so that removal-based methods
and metrics run at unit 'group' (`faithlab.explain.features`). The rules:
- a content token outside every group is a feature of its own (nothing is silently left in place, so every
  removal method still removes the whole text at its extreme, as at the other granularities);
- special and prompt tokens are never grouped (a span never reaches them; a token id given to one is refused);
- spans are [start, end) character offsets into the text (never its pair), may not overlap, must lie inside the
  text, must hold at least one token, and may not cut a tokenizer word in two (a span keeps or removes whole
  tokens; the error names the word).
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from faithlab.errors import FaithlabError
from faithlab.models import Batch, Classifier
from faithlab.models.windows import encode_windowed

GROUPING_RULE = "user groups; a token outside every group is a feature of its own"


@dataclass(frozen=True)
class FeatureGrouping:
    """One text's user features: `spans` ([start, end) characters of the text, one feature each) or
    `token_features` (a feature id, or None, per token of the encoded text, special tokens included); give one.

    Example:
        >>> text = "a warm and funny film"
        >>> result = fl.explain(model, text, "occlusion", groups=[FeatureGrouping.from_spans([(2, 16)])])
        >>> [row["group"] for row in result["occlusion"][0].extras["table"]]
        ['a', 'warm and funny', 'film']
    """

    spans: tuple[tuple[int, int], ...] | None = None
    token_features: tuple[int | None, ...] | None = None

    def __post_init__(self) -> None:
        if (self.spans is None) == (self.token_features is None):
            raise FaithlabError("a FeatureGrouping takes either spans or token_features, not both and not neither")
        for span in self.spans or ():
            well_formed = (not isinstance(span, str) and isinstance(span, Sequence) and len(span) == 2
                           and all(isinstance(v, int) and not isinstance(v, bool) for v in span))
            if not well_formed or not 0 <= span[0] < span[1]:
                raise FaithlabError(f"a span is two integers 0 <= start < end, got {span!r}")
        for t, value in enumerate(self.token_features or ()):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise FaithlabError(f"token {t}: a feature id is an integer >= 0 or None, got {value!r}")

    @classmethod
    def from_spans(cls, spans: Sequence[Sequence[int]]) -> FeatureGrouping:
        """A grouping of [start, end) character spans of the text, each one feature."""
        return cls(spans=tuple(tuple(span) if isinstance(span, (list, tuple)) else span for span in spans))

    @classmethod
    def from_token_features(cls, ids: Sequence[int | None]) -> FeatureGrouping:
        """A grouping by a feature id (an integer >= 0, or None: ungrouped) per token of the encoded text."""
        return cls(token_features=tuple(ids))

    def token_groups(
        self, text: str, tokens: Sequence[str], word_ids: Sequence[int | None], words: Sequence[tuple[int, int, int]]
    ) -> list[int | None]:
        """The group of each token (None outside every group, and for special tokens).

        Args:
            text: the text the spans point into.
            tokens: the encoded tokens, special tokens included.
            word_ids: the word of each token (None for special and prompt tokens).
            words: (side, start, end) characters of each word in its side's string.

        Returns:
            One entry per token.
        """
        if self.token_features is not None:
            return self._checked_ids(tokens, word_ids)
        spans = sorted(self.spans or ())
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise FaithlabError(f"spans overlap at characters {start}..{end}; give each character to one group")
        if spans and spans[-1][1] > len(text):
            raise FaithlabError(f"span {spans[-1]} ends after the text's {len(text)} characters")
        order = {span: g for g, span in enumerate(self.spans or ())}
        starts = [start for start, _ in spans]
        out: list[int | None] = []
        for word in word_ids:
            out.append(None if word is None else _span_of(text, words[word], spans, starts, order))
        empty = sorted(set(order.values()) - set(out), key=lambda g: (self.spans or ())[g])
        if empty:
            raise FaithlabError(f"span {(self.spans or ())[empty[0]]} holds no token of {text[:40]!r}")
        return out

    def _checked_ids(self, tokens: Sequence[str], word_ids: Sequence[int | None]) -> list[int | None]:
        ids = list(self.token_features or ())
        if len(ids) != len(tokens):
            raise FaithlabError(f"token_features has {len(ids)} entries for the text's {len(tokens)} tokens "
                                "(special tokens included)")
        for t, (value, word) in enumerate(zip(ids, word_ids, strict=True)):
            if value is not None and word is None:
                raise FaithlabError(f"token {t} {tokens[t]!r} is a special or prompt token, never grouped; give it "
                                    "None")
        return ids


def _span_of(
    text: str,
    word: tuple[int, int, int],
    spans: list[tuple[int, int]],
    starts: list[int],
    order: dict[tuple[int, int], int],
) -> int | None:
    """The group of a word's tokens: the span that holds the word, None when none touches it."""
    side, start, end = word
    if side != 0:
        return None  # spans point into the text, never the pair
    while start < end - 1 and text[start].isspace():  # byte-level tokenizers' words may start at the space
        start += 1
    i = bisect.bisect_right(starts, start) - 1
    if i >= 0 and spans[i][0] <= start and end <= spans[i][1]:
        return order[spans[i]]
    for span in spans[max(i, 0): i + 2]:
        if span[0] < end and start < span[1]:
            raise FaithlabError(f"span {span} cuts the word {text[start:end]!r} (characters {start}..{end}); "
                                "spans must start and end at word boundaries")
    return None


GroupingSpec = FeatureGrouping | Sequence[Sequence[int]] | None  # a grouping, or a text's (start, end) spans


def as_groupings(groups: Sequence[GroupingSpec], n_texts: int) -> list[FeatureGrouping | None]:
    """One `FeatureGrouping` (or None) per text from groupings or lists of (start, end) character spans; a lone
    `FeatureGrouping` stands for a single text's."""
    if isinstance(groups, FeatureGrouping) and n_texts == 1:
        return [groups]
    if isinstance(groups, (str, FeatureGrouping)) or len(groups) != n_texts:
        count = 1 if isinstance(groups, (str, FeatureGrouping)) else len(groups)
        raise FaithlabError(f"groups has {count} entries for {n_texts} texts; give one per text (a FeatureGrouping, "
                            "a list of (start, end) character spans, or None)")
    return [g if g is None or isinstance(g, FeatureGrouping) else FeatureGrouping.from_spans(g) for g in groups]


def resolve_groupings(
    groupings: Sequence[FeatureGrouping | None],
    texts: Sequence[str],
    tokens: Sequence[Sequence[str]],
    word_ids: Sequence[Sequence[int | None]],
    words: Sequence[Sequence[tuple[int, int, int]]],
) -> list[list[int | None]]:
    """Each text's `token_groups`, one grouping (or None: no groups, every token a feature of unit 'group' on its
    own) per text."""
    if len(groupings) != len(texts):
        raise FaithlabError(f"groups has {len(groupings)} entries for {len(texts)} texts; give one per text "
                            "(None for a text without groups)")
    out: list[list[int | None]] = []
    for i, grouping in enumerate(groupings):
        if grouping is not None and not isinstance(grouping, FeatureGrouping):
            raise FaithlabError(f"groups[{i}] must be a FeatureGrouping or None, got {type(grouping).__name__}")
        out.append([None] * len(tokens[i]) if grouping is None
                   else grouping.token_groups(texts[i], tokens[i], word_ids[i], words[i]))
    return out


def encode_grouped(
    classifier: Classifier,
    texts: str | Sequence[str],
    pairs: str | Sequence[str | None] | None = None,
    groups: Sequence[FeatureGrouping | None] | None = None,
) -> Batch:
    """The texts encoded whole (`faithlab.models.windows.encode_windowed`), with their groups resolved to tokens.

    Args:
        classifier: the model.
        texts: the texts (a single string is one text).
        pairs: optional pair texts.
        groups: one `FeatureGrouping` or None per text (a lone grouping for a single string), or None.

    Returns:
        The batch, its `token_groups` set when `groups` is given.
    """
    batch = encode_windowed(classifier, texts, pairs)
    if groups is not None:
        if isinstance(groups, FeatureGrouping):
            groups = [groups]
        batch.token_groups = resolve_groupings(groups, batch.texts, batch.tokens, batch.word_ids, batch.words)
    return batch


def read_groupings(path: str | os.PathLike, n_texts: int) -> list[FeatureGrouping | None]:
    """A JSONL file of groupings, one line per text: a list of [start, end] character spans, or null.

    Args:
        path: the file.
        n_texts: how many texts it must cover (one line each, in the order the texts were read).

    Returns:
        One `FeatureGrouping` or None per text.
    """
    try:
        lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as error:
        raise FaithlabError(f"cannot read groups file {path}: {error.strerror}") from error
    specs = []
    for number, line in enumerate(lines, start=1):
        try:
            specs.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise FaithlabError(f"groups file {path} line {number}: not JSON ({error.msg}); give a list of "
                                "[start, end] spans or null") from error
        if not (specs[-1] is None or isinstance(specs[-1], list)):
            raise FaithlabError(f"groups file {path} line {number}: give a list of [start, end] spans or null, got "
                                f"{line[:40]!r}")
    return as_groupings(specs, n_texts)
