"""Explanations in the terminal with rich: coloured tokens per method with what each explains, and a table of each
method's top tokens. Special tokens are hidden unless asked for, and the output says which."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from faithlab.explain.explanation import Explanation
from faithlab.report.attention_views import is_punctuation_or_symbol
from faithlab.report.grouping import MAX_TEXTS, TextGroup, group_by_text, is_head_warning
from faithlab.report.tokens import conventions, needs_light_text, score_rgb, shown_tokens


def token_text(explanation: Explanation, *, show_special: bool = False) -> Text:
    """The explanation's tokens on a red (for the target) / blue (against) background, scaled per explanation;
    special tokens (dim) only with `show_special`."""
    out = Text()
    for token in shown_tokens(explanation, show_special=show_special):
        if token.space_before:
            out.append(" ")
        if token.special:
            out.append(token.text, style="dim")
            continue
        r, g, b = score_rgb(token.scaled)
        foreground = "white" if needs_light_text(token.scaled) else "black"
        out.append(token.text, style=f"{foreground} on rgb({r},{g},{b})")
    return out


def top_tokens_table(explanations: Iterable[Explanation], k: int = 5) -> Table:
    """One row per explanation: method, target and its k highest-scoring content tokens with their scores.

    Attention rows (output 'attention') leave out tokens made only of punctuation or symbols, as the attention views
    do: attention piles up on them without meaning; each occurrence of a repeated token is its own entry.
    """
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("method")
    table.add_column("target")
    table.add_column(f"top {k} tokens (score; attention: no punctuation or symbols)")
    for e in explanations:
        content = [t for t in e.content if e.output != "attention" or not is_punctuation_or_symbol(e.tokens[t])]
        order = sorted(content, key=lambda t: -e.scores[t])[:k]
        tops = ", ".join(f"{e.tokens[t]} ({e.scores[t]:+.3g})" for t in order)
        table.add_row(e.method, e.target_name, tops)
    return table


def render_text(group: TextGroup, k: int = 5, *, show_special: bool = False) -> RenderableType:
    """One input: the text, the prediction, coloured tokens and conventions per method, then the top-tokens table."""
    first = group.rows[0]
    probabilities = ", ".join(f"{label} {p:.3f}" for label, p in zip(first.labels, first.probabilities, strict=True))
    parts: list[RenderableType] = [
        Text(group.text if group.pair is None else f"{group.text}  ‖  {group.pair}", style="bold"),
        Text(f"prediction: {first.labels[first.predicted]} ({probabilities})"),
    ]
    for warning in dict.fromkeys(w for e in group.rows for w in e.warnings if not is_head_warning(w)):
        parts.append(Text(f"⚠ {warning}", style="yellow"))
    rows = Table(show_header=False, box=None, pad_edge=False)
    rows.add_column(style="cyan", no_wrap=True)
    rows.add_column()
    for e in group.rows:
        rows.add_row(f"{e.method} → {e.target_name}", token_text(e, show_special=show_special))
        rows.add_row("", Text(conventions(e, show_special=show_special), style="dim"))
    parts += [rows, top_tokens_table(group.rows, k)]
    return Group(*parts)


def print_explanations(
    explanations: Iterable[Explanation],
    console: Console | None = None,
    *,
    k: int = 5,
    max_texts: int = MAX_TEXTS,
    show_special: bool = False,
) -> None:
    """Print every text's explanations (at most `max_texts` texts), with a head warning first where it applies.

    Args:
        explanations: any iterable, read once.
        console: where to print (a new rich Console by default).
        k: how many top tokens the table lists per explanation (content tokens only).
        max_texts: how many texts to show; the rest are counted.
        show_special: show special tokens ([CLS], [SEP], ...) with their scores; hidden by default, as said.
    """
    console = console or Console()
    groups, n_texts = group_by_text(explanations, max_texts)
    untrained = sorted({e.model for g in groups for e in g.rows if any(map(is_head_warning, e.warnings))})
    for model in untrained:
        console.print(Text.assemble(
            ("Warning:", "bold yellow"),
            f" the classification head of model {model} is untrained: "
            "these explanations explain a random head, not a trained classifier.",
        ))
    console.print(Text.assemble(("red", "red"), ": evidence for the target · ", ("blue", "blue"), ": against it · ",
                                f"special tokens {'shown' if show_special else 'hidden'}"))
    for group in groups:
        console.print()
        console.print(render_text(group, k, show_special=show_special))
    if len(groups) < n_texts:
        console.print(f"\n(showing the first {len(groups)} of {n_texts} texts)")
