"""Align a file's word tokens to the raw text they were cut from: one character span per token.

Rationale files often give tokens from a tokenizer (NLTK splits `church.` into `church` and `.`) next to the raw
sentence. Masks over those tokens stay exact when each token is located in the raw text by characters, so a
highlighted `church` marks the characters of `church` and not the full stop after it.
"""

from __future__ import annotations

from collections.abc import Sequence

Span = tuple[int, int]

# Tokenizers that rewrite characters: NLTK writes an opening double quote as `` and a closing one as ''.
_REWRITTEN = {"``": ('"', "``"), "''": ('"', "''")}


def align_tokens(text: str, tokens: Sequence[str]) -> list[Span]:
    """Character `[start, end)` of each token in `text`, in order; whitespace between tokens is passed over.

    Args:
        text: the raw text.
        tokens: its tokens in order, each a substring of `text` (NLTK's `` and '' match a double quote).

    Returns:
        One span per token.

    Raises:
        ValueError: a token is empty, not text, or not found where the previous one ended, or text is left over
            after the last token; the message names the token and the text found there.
    """
    spans: list[Span] = []
    position = 0
    for i, token in enumerate(tokens):
        if not isinstance(token, str) or not token.strip():
            raise ValueError(f"token {i} is {token!r}, not a word")
        while position < len(text) and text[position].isspace():
            position += 1
        form = next((f for f in _REWRITTEN.get(token, (token,)) if text.startswith(f, position)), None)
        if form is None:
            raise ValueError(f"token {i} {token!r} is not in the text at character {position} "
                             f"(found {text[position:position + len(token) + 10]!r})")
        spans.append((position, position + len(form)))
        position += len(form)
    if text[position:].strip():
        raise ValueError(f"the text goes on after the last token: {text[position:position + 20]!r}")
    return spans
