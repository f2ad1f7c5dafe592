"""Error analysis of test predictions: one row per example with slice tags, the mistakes, accuracy per slice."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from faithlab.data import slice_tags

SLICE_SEPARATOR = ";"


def predictions_frame(
    texts: Sequence[str],
    pairs: Sequence[str | None],
    labels: Sequence[int],
    probabilities: np.ndarray,
    label_names: Sequence[str],
) -> pd.DataFrame:
    """text, pair (when any), label, prediction, p_<class> per class, confidence, correct, slices ("a;b")."""
    probs = np.asarray(probabilities, dtype=np.float64)
    predicted = probs.argmax(axis=1)
    names = np.asarray(label_names, dtype=object)
    frame = pd.DataFrame({"text": list(texts)})
    if any(pair is not None for pair in pairs):
        frame["pair"] = list(pairs)
    frame["label"] = names[np.asarray(labels)]
    frame["prediction"] = names[predicted]
    for k, name in enumerate(label_names):
        frame[f"p_{name}"] = probs[:, k]
    frame["confidence"] = probs.max(axis=1)
    frame["correct"] = predicted == np.asarray(labels)
    joined = [text if pair is None else f"{text} {pair}" for text, pair in zip(texts, pairs, strict=True)]
    frame["slices"] = [SLICE_SEPARATOR.join(slice_tags(text)) for text in joined]
    return frame


def misclassified(frame: pd.DataFrame) -> pd.DataFrame:
    """The wrong predictions, most confident first (the most instructive errors lead)."""
    wrong = frame.loc[~frame["correct"]]
    return wrong.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)


def slice_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """Per slice (and "all"): size, accuracy, macro F1, mean confidence; slices sorted by accuracy."""
    tags = frame["slices"].str.split(SLICE_SEPARATOR)
    members = {"all": np.ones(len(frame), dtype=bool)}
    for tag in sorted({tag for row in tags for tag in row}):
        members[tag] = tags.map(lambda row, tag=tag: tag in row).to_numpy()
    rows = []
    for name, mask in members.items():
        part = frame.loc[mask]
        rows.append({
            "slice": name,
            "n": int(mask.sum()),
            "accuracy": float(part["correct"].mean()),
            "f1_macro": float(f1_score(part["label"], part["prediction"], average="macro", zero_division=0)),
            "mean_confidence": float(part["confidence"].mean()),
        })
    table = pd.DataFrame(rows)
    head, rest = table.iloc[:1], table.iloc[1:].sort_values(["accuracy", "slice"], kind="stable")
    return pd.concat([head, rest], ignore_index=True)
