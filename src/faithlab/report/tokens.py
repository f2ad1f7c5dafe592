"""How a token is shown in any report: readable text, a space before new words, a diverging colour for its score;
and the line that states an explanation's conventions."""

from __future__ import annotations

from dataclasses import dataclass

from faithlab.explain.explanation import GRANULARITIES, Explanation

WHITE = (255, 255, 255)
POSITIVE = (214, 39, 40)  # red: evidence for the target class
NEGATIVE = (31, 100, 200)  # blue: evidence against it
_SUBWORD_MARKS = ("##", "Ġ", "▁", "Ċ")


@dataclass(frozen=True)
class ShownToken:
    text: str
    score: float
    scaled: float  # score / the row's largest |score|, in [-1, 1]
    space_before: bool
    special: bool


def shown_tokens(explanation: Explanation, *, show_special: bool = False) -> list[ShownToken]:
    """The tokens of an explanation as a reader sees them.

    A word made of one token shows the word exactly as written; pieces of longer words show the token without its
    subword marker ('##', 'Ġ', '▁'). Scores are scaled per explanation by the largest magnitude of the tokens
    shown, centred at zero. Special tokens are left out unless `show_special` is True.
    """
    e = explanation
    scaled = e.normalized("max", include_special=show_special)
    pieces = [0] * len(e.words)
    for word in e.word_ids:
        if word is not None:
            pieces[word] += 1
    out = []
    previous: int | None = -1
    for t, (token, word) in enumerate(zip(e.tokens, e.word_ids, strict=True)):
        if word is None:
            text = token
        elif pieces[word] == 1:
            text = e.word_text(word) or token
        else:
            text = strip_marks(token) or "␣"  # a lone word-start marker stands for the space itself
        space = bool(out) and (word is None or word != previous)
        previous = word
        if word is not None or show_special:
            out.append(ShownToken(text, float(e.scores[t]), float(scaled[t]), space, word is None))
    return out


def conventions(explanation: Explanation, *, show_special: bool | None = False, windows: bool = True) -> str:
    """What the scores explain, how features are removed (and which tokens form one feature, when not each token),
    whether special tokens are shown (left out for None: a page that toggles them says so itself), and, with
    `windows`, how a long text was read (`window_note`)."""
    e = explanation
    parts = [f"explains: {e.output}", f"removal: {e.replacement}"]
    if e.granularity != "token":
        parts.append(f"features: {GRANULARITIES[e.granularity]}")
    if show_special is not None:
        special = "shown" if show_special else "hidden"
        parts.append("special tokens: " + special + (", stored as 0" if e.special_tokens == "zeroed" else ""))
    if windows and e.windows:
        parts.append(window_note(e))
    return " · ".join(parts)


def window_note(explanation: Explanation) -> str:
    """How a text longer than the model's limit was read: its windows, their size and stride, and the rule that
    combined their scores; '' for a text read whole."""
    spans = explanation.windows
    if not spans:
        return ""
    size = spans[0][1] - spans[0][0]
    stride = spans[1][0] - spans[0][0] if len(spans) > 1 else size
    return (f"read in {len(spans)} windows of {size} tokens, stride {stride} (the last ends at the text's end); "
            f"scores = {explanation.window_rule}")


def strip_marks(token: str) -> str:
    """The token without its leading subword marker ('##', 'Ġ', '▁', 'Ċ')."""
    for mark in _SUBWORD_MARKS:
        if token.startswith(mark):
            return token[len(mark):]
    return token


def score_rgb(scaled: float) -> tuple[int, int, int]:
    """Diverging colour: white at 0, red towards +1, blue towards -1."""
    end = POSITIVE if scaled >= 0 else NEGATIVE
    weight = min(1.0, abs(scaled))
    return tuple(round(w + weight * (c - w)) for w, c in zip(WHITE, end, strict=True))


def needs_light_text(scaled: float) -> bool:
    """True where the background is dark enough that dark text would be hard to read."""
    return abs(scaled) > 0.6
