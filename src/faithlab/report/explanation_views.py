"""Explanation views: a text's methods side by side, at token or word level, on one diverging colour scale.

A view is data first (`ExplanationGrid`: every shown unit with its exact and scaled score, and the conventions it
was drawn under), then an HTML fragment or a matplotlib bar plot of that data, so the report, the web app and a
notebook show the same numbers. Words are merged through the tokenizer's word ids (`Explanation.word_scores`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from faithlab.errors import FaithlabError
from faithlab.explain.explanation import WORD_AGGREGATIONS, Explanation
from faithlab.report.tokens import (
    NEGATIVE,
    POSITIVE,
    ShownToken,
    conventions,
    needs_light_text,
    score_rgb,
    shown_tokens,
    window_note,
)

LEVELS = ("token", "word", "feature")
SCALES = ("row", "shared")


@dataclass(frozen=True)
class Unit:
    """One shown token or word: its text, exact score, score on the view's colour scale ([-1, 1]), whether it is a
    special token, and whether a space precedes it."""

    text: str
    score: float
    scaled: float
    special: bool
    space_before: bool


@dataclass
class ExplanationRow:
    """One method's row: the target, what the scores explain and how features were removed, the shown units, and
    the score that maps to full colour."""

    method: str
    target: str
    output: str
    replacement: str
    conventions: str
    scale: float
    units: list[Unit]


@dataclass
class ExplanationGrid:
    """The methods of one text side by side, with the choices the view was drawn under."""

    text: str
    pair: str | None
    level: str
    aggregation: str
    scale: str
    show_special: bool
    rows: list[ExplanationRow] = field(default_factory=list)
    windows: str = ""

    @property
    def legend(self) -> str:
        """The stated conventions: level (and word merge), colour scale, special tokens, and the windows a long text
        was read in (`faithlab.report.tokens.window_note`)."""
        level = {"token": "tokens", "word": f"words (tokenizer word ids, merged by {self.aggregation})",
                 "feature": "each method's features (the tokens it removed together; scored as one)"}[self.level]
        scale = ("each row scaled by its own largest |score|" if self.scale == "row"
                 else "one scale shared by every row (the largest |score| of all rows)")
        special = "shown" if self.show_special else "hidden"
        windows = f" · {self.windows}" if self.windows else ""
        return f"units: {level} · colour: {scale}, white at 0 · special tokens: {special}{windows}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data of the view (`legend` included)."""
        return asdict(self) | {"legend": self.legend}

    def to_frame(self) -> pd.DataFrame:
        """One row per method and unit: method, target, output, replacement, position, unit, score, scaled."""
        records = [
            {"method": r.method, "target": r.target, "output": r.output, "replacement": r.replacement,
             "position": i, "unit": u.text, "score": u.score, "scaled": u.scaled, "special": u.special}
            for r in self.rows for i, u in enumerate(r.units)
        ]
        return pd.DataFrame.from_records(records)


def explanation_grid(
    explanations: Sequence[Explanation],
    *,
    level: str = "token",
    aggregation: str = "sum",
    scale: str = "row",
    show_special: bool = False,
) -> ExplanationGrid:
    """The methods of one text side by side.

    Args:
        explanations: explanations of the same text (and pair), one per method (and target).
        level: 'token', 'word' (tokens merged by the tokenizer's word ids) or 'feature' (each method's own
            features: its words, sentences or user groups, one unit each; tokens for a method that scores tokens).
        aggregation: how a word's token scores merge: 'sum', 'mean' or 'absmax' (the signed score of largest |s|).
        scale: 'row' (each row's largest |score| is full colour) or 'shared' (one scale for all rows).
        show_special: show special tokens ([CLS], [SEP], ...) with the score the method gave them.

    Returns:
        The `ExplanationGrid`; its `legend` states every choice above.
    """
    _check(level, LEVELS, "level")
    _check(aggregation, WORD_AGGREGATIONS, "word aggregation")
    _check(scale, SCALES, "colour scale")
    if not explanations:
        raise FaithlabError("no explanations to show")
    first = explanations[0]
    for e in explanations[1:]:
        if (e.text, e.pair) != (first.text, first.pair):
            raise FaithlabError(f"explanations of different texts in one view: {first.text[:40]!r}, {e.text[:40]!r}")
    raw = [_units(e, level, aggregation, show_special) for e in explanations]
    largest = [max((abs(score) for _, score, _, _ in units), default=0.0) for units in raw]
    shared = max(largest, default=0.0)
    rows = []
    for e, units, own in zip(explanations, raw, largest, strict=True):
        limit = own if scale == "row" else shared
        rows.append(ExplanationRow(
            method=e.method, target=e.target_name, output=e.output, replacement=e.replacement,
            conventions=conventions(e, show_special=show_special, windows=False), scale=limit,
            units=[Unit(text, score, score / limit if limit > 0 else 0.0, special, space)
                   for text, score, special, space in units],
        ))
    return ExplanationGrid(first.text, first.pair, level, aggregation, scale, show_special, rows, window_note(first))


def _check(value: str, choices: Sequence[str], what: str) -> None:
    if value not in choices:
        raise FaithlabError(f"unknown {what} '{value}'; choose one of {', '.join(choices)}")


def _units(e: Explanation, level: str, aggregation: str, show_special: bool) -> list[tuple[str, float, bool, bool]]:
    """(text, score, special, space_before) per shown unit, in text order."""
    if level == "token":
        return [(t.text, t.score, t.special, t.space_before) for t in shown_tokens(e, show_special=show_special)]
    if level == "feature":
        return _feature_units(e, show_special)
    words = e.word_scores(aggregation)
    out: list[tuple[str, float, bool, bool]] = []
    seen: set[int] = set()
    for t, word in enumerate(e.word_ids):
        if word is None:
            if show_special:
                out.append((e.tokens[t], float(e.scores[t]), True, bool(out)))
        elif word not in seen:
            seen.add(word)
            out.append((e.word_text(word), float(words[word]), False, bool(out)))
    return out


def _feature_units(e: Explanation, show_special: bool) -> list[tuple[str, float, bool, bool]]:
    """(text, score, special, space_before) per feature the method removed together, in order of its first token:
    the feature's text and score."""
    ids, scores = e.feature_ids(), e.feature_scores()
    shown = shown_tokens(e, show_special=True)  # one per token
    pieces = Counter(w for w in e.word_ids if w is not None)  # tokens per word
    members: dict[int, list[int]] = {}
    for t, f in enumerate(ids):
        if f is not None:
            members.setdefault(f, []).append(t)
    out: list[tuple[str, float, bool, bool]] = []
    for t, f in enumerate(ids):
        if f is None and show_special:
            out.append((e.tokens[t], float(e.scores[t]), True, bool(out)))
        elif f is not None and members[f][0] == t:
            out.append((_feature_text(e, members[f], shown, pieces), float(scores[f]), False, bool(out)))
    return out


def _feature_text(e: Explanation, tokens: list[int], shown: list[ShownToken], pieces: Counter[int]) -> str:
    """The characters from the feature's first word to its last when it holds whole words, else its tokens."""
    words = [e.word_ids[t] for t in tokens]
    side, start, _ = e.words[words[0]]
    _, _, end = e.words[words[-1]]
    if Counter(words) == {w: pieces[w] for w in set(words)}:  # every token of its words
        return (e.text if side == 0 else e.pair or "")[start:end].strip()
    return "".join((" " if shown[t].space_before and k else "") + shown[t].text for k, t in enumerate(tokens))


def legend_html() -> Markup:
    """The diverging colour legend: blue (against the target) through white (0) to red (for the target)."""
    low, high = "rgb({},{},{})".format(*NEGATIVE), "rgb({},{},{})".format(*POSITIVE)
    return Markup(
        '<div class="fl-legend"><span>against the target</span><span class="fl-scale" style="background:'
        f'linear-gradient(to right,{low},#fff,{high})"></span><span>for the target</span></div>'
    )


def grid_html(grid: ExplanationGrid) -> Markup:
    """An HTML fragment of the grid: the legend and stated conventions, then one row per method with its target,
    quantity explained and replacement; each unit carries its exact score in its title (shown on hover).

    Args:
        grid: from `explanation_grid`.

    Returns:
        Escaped HTML (safe to insert into a page; the text is user input).
    """
    parts = [legend_html(), Markup('<div class="fl-conventions">{}</div>').format(grid.legend), Markup("<table>")]
    for row in grid.rows:
        units = Markup("").join(_unit_html(u) for u in row.units)
        parts.append(Markup(
            '<tr><td class="fl-method"><b>{}</b> → {}<br><span class="fl-meta">{} · full colour at |score| = {}'
            '</span></td><td class="fl-units">{}</td></tr>'
        ).format(row.method, row.target, row.conventions, f"{row.scale:.4g}", units))
    parts.append(Markup("</table>"))
    return Markup("").join(parts)


def _unit_html(unit: Unit) -> Markup:
    r, g, b = score_rgb(unit.scaled)
    color = "#fff" if needs_light_text(unit.scaled) else "#000"
    kind = "fl-u fl-special" if unit.special else "fl-u"
    return Markup('{}<span class="{}" style="background:rgb({},{},{});color:{}" title="{}">{}</span>').format(
        " " if unit.space_before else "", kind, r, g, b, color, f"{unit.score:.6g}", unit.text
    )


def explanation_bars(grid: ExplanationGrid) -> Figure:
    """Bar plots of the grid: one panel per method, one bar per unit (red for, blue against the target), each
    panel titled with the method, target and quantity explained; the y axis is the raw score.

    Args:
        grid: from `explanation_grid`.

    Returns:
        A matplotlib Figure (object API; save it with `faithlab.report.styles.save_figure`).
    """
    n = max(1, len(grid.rows))
    width = max(4.0, 0.45 * max((len(r.units) for r in grid.rows), default=1) + 1.5)
    fig = Figure(figsize=(width, 2.4 * n), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n, 1, squeeze=False)[:, 0])
    for ax, row in zip(axes, grid.rows, strict=False):
        scores = [u.score for u in row.units]
        colors = ["#%02x%02x%02x" % (POSITIVE if s >= 0 else NEGATIVE) for s in scores]
        ax.bar(range(len(scores)), scores, color=colors)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xticks(range(len(scores)), [u.text for u in row.units], rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{row.method} → {row.target} · explains: {row.output} · removal: {row.replacement}", fontsize=8)
        ax.set_ylabel("score")
    fig.suptitle(grid.legend, fontsize=7)
    return fig


def text_payload(explanations: Sequence[Explanation], *, aggregation: str = "sum", digits: int = 4) -> dict[str, Any]:
    """Compact JSON data of one text's explanations, for a page that draws every view itself (report, web app).

    Token units (special ones flagged) and word units are listed once; each method's row carries its scores at both
    levels, rounded to `digits` significant digits, so a page can switch level, colour scale and special tokens
    without asking again.

    Args:
        explanations: explanations of the same text, one per method (and target).
        aggregation: how word scores merge token scores ('sum', 'mean', 'absmax'), stated in the payload.
        digits: significant digits kept per score.

    Returns:
        {"text", "pair", "predicted", "probabilities": [[label, p]], "aggregation", "tokens": [[text, special,
        space_before]], "words": [[text, space_before]], "rows": [{"method", "target", "conventions", "output",
        "replacement", "token_scores", "word_scores", "warnings"}]}.
    """
    explanation_grid(explanations)  # the same checks: one text, at least one explanation
    _check(aggregation, WORD_AGGREGATIONS, "word aggregation")
    first = explanations[0]
    tokens = _units(first, "token", aggregation, True)
    words = _units(first, "word", aggregation, False)

    def rounded(units: list[tuple[str, float, bool, bool]]) -> list[float]:
        return [float(f"{score:.{digits}g}") for _, score, _, _ in units]

    rows = [
        {"method": e.method, "target": e.target_name, "output": e.output, "replacement": e.replacement,
         "conventions": conventions(e, show_special=None),
         "token_scores": rounded(_units(e, "token", aggregation, True)),
         "word_scores": rounded(_units(e, "word", aggregation, False)), "warnings": list(e.warnings)}
        for e in explanations
    ]
    return {
        "text": first.text, "pair": first.pair, "predicted": first.labels[first.predicted],
        "probabilities": [[label, round(p, 4)] for label, p in zip(first.labels, first.probabilities, strict=True)],
        "aggregation": aggregation,
        "tokens": [[text, special, space] for text, _, special, space in tokens],
        "words": [[text, space] for text, _, _, space in words],
        "rows": rows,
    }
