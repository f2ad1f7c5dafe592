"""e-SNLI with human highlight rationales: the original CSV (up to 3 annotators) and a one-annotator JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from faithlab.data.align import align_tokens
from faithlab.data.labels import NLI_LABELS, resolve_label
from faithlab.data.masks import combine_masks, indices_to_mask
from faithlab.data.records import DataError, Dataset, Example, OnError, Report, RowError
from faithlab.data.tabular import check_columns, read_records

Annotator = int | Literal["union", "majority", "all"]


def parse_highlight_indices(cell: str) -> list[int]:
    """e-SNLI's `SentenceX_Highlighted_k` cell: comma-separated word indices, or `{}` / empty for none."""
    cell = cell.strip()
    if cell in ("", "{}"):
        return []
    return [int(part) for part in cell.strip("{}").split(",")]


def parse_marked(marked: str) -> tuple[list[str], list[int]]:
    """Words and mask of an e-SNLI `SentenceX_marked_k` string, where highlighted words are `*word*`."""
    words, mask = [], []
    for word in marked.split():
        mask.append(int(word.count("*") >= 2))
        words.append(word.replace("*", ""))
    return words, mask


def read_esnli_csv(path: str | Path, annotator: Annotator = 1, on_error: OnError = "skip") -> Dataset:
    """The original e-SNLI CSV (`pairID, gold_label, Sentence1, Sentence2` + highlight columns per annotator).

    `annotator` picks annotator 1, 2 or 3, or combines all three ("union", "majority", "all"). The default, 1,
    agrees with the full-dev JSONL, which only has annotator 1. Masks index `SentenceX.split()`, punctuation
    attached (`lunch.`). Highlights come from `SentenceX_Highlighted_k` (indices), else `SentenceX_marked_k`.
    """
    annotators = _annotators(annotator)
    report = Report(source=str(path), on_error=on_error)
    columns, rows = read_records(path, "csv", report)
    check_columns(path, columns, {"text": "Sentence1", "pair": "Sentence2", "label": "gold_label"})
    style = "Highlighted" if all(f"Sentence1_Highlighted_{k}" in columns for k in annotators) else "marked"
    for side in (1, 2):
        for k in annotators:
            check_columns(path, columns, {f"annotator {k} highlight": f"Sentence{side}_{style}_{k}"})
    examples: list[Example] = []
    for line, record in rows:
        if record["gold_label"].strip() == "-":
            report.filtered(line, "gold_label is '-' (no gold label)")
            continue
        try:
            examples.append(_csv_example(record, line, style, annotators, annotator))
        except ValueError as err:
            report.malformed_error(line, err)
    return Dataset(examples, NLI_LABELS, report, Path(path).stem)


def _annotators(annotator: Annotator) -> tuple[int, ...]:
    if annotator in ("union", "majority", "all"):
        return (1, 2, 3)
    if annotator in (1, 2, 3) and not isinstance(annotator, bool):
        return (int(annotator),)
    raise DataError(f"annotator must be 1, 2, 3, 'union', 'majority' or 'all', got {annotator!r}")


def _csv_example(
    record: dict[str, str], line: int, style: str, annotators: tuple[int, ...], annotator: Annotator
) -> Example:
    index, name = resolve_label(record["gold_label"], NLI_LABELS)
    sides = []
    for side in (1, 2):
        sentence = record[f"Sentence{side}"].strip()
        words = sentence.split()
        if not words:
            raise ValueError(f"empty Sentence{side}")
        masks = [_side_mask(record, side, style, k, words) for k in annotators]
        vote = "union" if isinstance(annotator, int) else annotator
        sides.append((sentence, words, combine_masks(masks, vote)))
    (text, words, mask), (pair, pair_words, pair_mask) = sides
    key = record.get("pairID") or str(line)
    return Example(text, pair, index, name, mask, pair_mask, words, pair_words, id=key)


def _side_mask(record: dict[str, str], side: int, style: str, k: int, words: list[str]) -> list[int]:
    column = f"Sentence{side}_{style}_{k}"
    cell = record[column]
    if style == "Highlighted":
        try:
            indices = parse_highlight_indices(cell)
        except ValueError:
            raise RowError(f"{column} {cell!r} is not a list of word indices",
                           f"{column} is not a list of word indices") from None
        try:
            return indices_to_mask(indices, len(words))
        except ValueError as err:
            raise RowError(f"{column}: {err}", f"{column}: word index out of range") from None
    marked_words, mask = parse_marked(cell)
    if marked_words != words:
        raise ValueError(f"{column} does not spell the same words as Sentence{side}")
    return mask


def read_esnli_jsonl(path: str | Path, on_error: OnError = "skip") -> Dataset:
    """The e-SNLI JSONL with `premise_tokens` / `hypothesis_tokens` and `*_highlight` indices (annotator 1).

    Words are the file's NLTK tokens, so `doesn't` is two words (`does`, `n't`) and only the first is marked.
    `premise` / `hypothesis` may be the tokens joined by spaces or the raw sentences: tokens are aligned to the
    text's characters (`faithlab.data.align`), so `church` and `.` of "a church." are two words with their own
    spans. A file with `*_highlight_ws` (indices into the text's whitespace words) is read through those instead.
    A row is malformed only when its tokens cannot be found in its text.
    """
    report = Report(source=str(path), on_error=on_error)
    columns, rows = read_records(path, "jsonl", report)
    whitespace = all(f"{side}_highlight_ws" in columns for side in ("premise", "hypothesis"))
    needed = ("premise", "hypothesis", "label")
    if not whitespace:
        needed += ("premise_tokens", "hypothesis_tokens", "premise_highlight", "hypothesis_highlight")
    check_columns(path, columns, {field: field for field in needed})
    examples: list[Example] = []
    for line, record in rows:
        if str(record.get("label", "")).strip() == "-":
            report.filtered(line, "label is '-' (no gold label)")
            continue
        try:
            examples.append(_jsonl_example(record, line, whitespace))
        except (ValueError, KeyError, TypeError) as err:
            report.malformed_error(line, err)
    return Dataset(examples, NLI_LABELS, report, Path(path).stem)


def _jsonl_example(record: dict[str, Any], line: int, whitespace: bool) -> Example:
    index, name = resolve_label(record["label"], NLI_LABELS)
    sides = [_jsonl_side(record, side, whitespace) for side in ("premise", "hypothesis")]
    (text, words, spans, mask), (pair, pair_words, pair_spans, pair_mask) = sides
    key = str(record.get("pairID") or record.get("row", line))
    return Example(text, pair, index, name, mask, pair_mask, words, pair_words, id=key, spans=spans,
                   pair_spans=pair_spans)


def _jsonl_side(
    record: dict[str, Any], side: str, whitespace: bool
) -> tuple[str, list[str], list[tuple[int, int]] | None, list[int]]:
    """Text, words, their character spans (None: whitespace words) and the highlight mask of one side."""
    text = str(record[side]).strip()
    if not text:
        raise RowError(f"{side} is empty", f"empty {side}")
    column = f"{side}_highlight_ws" if whitespace else f"{side}_highlight"
    if whitespace:
        words, spans = text.split(), None
    else:
        words = record[f"{side}_tokens"]
        if not isinstance(words, list) or not words:
            raise RowError(f"{side}_tokens is {words!r}, not a list of tokens", f"{side}_tokens is not a list")
        try:
            spans = None if text.split() == words else align_tokens(text, words)
        except ValueError as err:
            raise RowError(f"{side}_tokens cannot be aligned to {side}: {err}",
                           f"{side}_tokens cannot be aligned to {side}") from None
    try:
        return text, list(words), spans, indices_to_mask(record[column], len(words))
    except ValueError as err:
        raise RowError(f"{column}: {err}", f"{column}: word index out of range") from None
