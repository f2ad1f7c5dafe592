"""The views the app shows for each explanation, by name: the one place to add (or swap in) a view.

Each view turns one `Explanation` into JSON-ready data that the page draws; colours come from
`faithlab.report.tokens`, so the app and the HTML report agree. `words` is the app's own until `faithlab.report`
has a word-level view to plug in here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from faithlab.explain.explanation import Explanation
from faithlab.report.tokens import conventions, needs_light_text, score_rgb, shown_tokens

WORD_AGGREGATION = "sum"  # how the word view merges a word's token scores (stated on the page)

View = Callable[[Explanation, bool], list[dict[str, Any]]]


def token_view(explanation: Explanation, show_special: bool) -> list[dict[str, Any]]:
    """One cell per token as `report.tokens.shown_tokens` shows it, with its colour."""
    return [
        _cell(t.text, t.score, t.scaled, t.space_before, special=t.special)
        for t in shown_tokens(explanation, show_special=show_special)
    ]


def word_view(explanation: Explanation, show_special: bool) -> list[dict[str, Any]]:
    """One cell per word of the tokenizer (its tokens' scores summed), scaled by the largest |word score|.

    Special tokens belong to no word, so this view never shows them, whatever `show_special` says.
    """
    scores = explanation.word_scores(WORD_AGGREGATION)
    scale = float(np.abs(scores).max(initial=0.0)) or 1.0
    return [
        _cell(explanation.word_text(w), float(s), float(s) / scale, w > 0, special=False)
        for w, s in enumerate(scores)
    ]


VIEWS: dict[str, View] = {"tokens": token_view, "words": word_view}


def explanation_payload(explanation: Explanation, show_special: bool = False) -> dict[str, Any]:
    """What the page needs of one explanation: its provenance, the conventions line and every view."""
    e = explanation
    return {
        "method": e.method,
        "target": e.target,
        "target_name": e.target_name,
        "predicted": e.labels[e.predicted],
        "probabilities": dict(zip(e.labels, e.probabilities, strict=True)),
        "settings": e.to_dict()["settings"],
        "seconds": e.seconds,
        "conventions": conventions(e, show_special=show_special),
        "word_aggregation": WORD_AGGREGATION,
        "warnings": list(e.warnings),
        "views": {name: view(e, show_special) for name, view in VIEWS.items()},
    }


def _cell(text: str, score: float, scaled: float, space: bool, *, special: bool) -> dict[str, Any]:
    r, g, b = score_rgb(scaled)
    return {
        "text": text,
        "score": score,
        "color": f"rgb({r},{g},{b})",
        "light": needs_light_text(scaled),
        "space": space,
        "special": special,
    }
