"""Occlusion (leave-one-out): remove one token or word at a time and measure how the output drops.

score(feature) = f(original) − f(feature removed), so higher means more evidence for the target (Zeiler & Fergus 2014;
for text, erasure as in Li, Monroe & Jurafsky 2016, "Understanding Neural Networks through Representation Erasure").

Defaults: `replacement="delete"`, because erasing the token leaves a text the classifier could have seen during
training (no [MASK] it was never fine-tuned on) and works the same for every family (GPT-2 has no mask token);
'mask', 'pad' and 'unk' replace the token instead and keep positions fixed. `output="logit"`, the project-wide
default, does not saturate like the probability; `output="margin"` (target logit minus the contrast logit, e.g.
positive − negative in the FinBERT study) also drops the arbitrary offset shared by all logits;
`output="probability_margin"` is the same contrast in probabilities. With `unit="word"` all tokens of a tokenizer
word are removed together and each of them carries the word's score; `unit="whitespace"` removes whitespace-separated
words ('0.8', 'pre-tax', 'market.' are one deletion each, though a tokenizer splits them into several words).
"""

from __future__ import annotations

from typing import Any

import torch

from faithlab.explain.base import Attributions, register
from faithlab.explain.perturbation import Groups, PerturbationExplainer, feature_groups, whitespace_span
from faithlab.explain.settings import OcclusionSettings
from faithlab.models import Batch


@register
class Occlusion(PerturbationExplainer):
    """Leave-one-out on `output` ('logit', 'probability', 'margin', 'probability_margin' or 'loss'); extras hold the
    full removal table.

    Occlusion (Zeiler & Fergus 2014, "Visualizing and Understanding Convolutional Networks"), for text the erasure of
    Li, Monroe & Jurafsky 2016 ("Understanding Neural Networks through Representation Erasure"): remove one token
    (or word) at a time and score it by how much the output drops, f(text) − f(text without it). One batched pass
    of n perturbed texts per text.

    Args:
        unit: remove one 'token', one whole tokenizer 'word', one 'whitespace'-separated word ('0.8', 'pre-tax'
            and 'market.' are one each), one 'sentence' or one user 'group' (`groups=` of `fl.explain`) at a time;
            every token of the feature carries its score (default 'token').
        replacement: how a removed token is replaced: 'mask', 'pad', 'unk', or 'delete' (default 'delete': the
            shortened text is one the model could have seen in training, and every family can delete).
        output: the quantity measured: the target 'logit', 'probability', 'margin' (target logit minus
            `contrast`'s), 'probability_margin' (p(target) − p(contrast)) or 'loss' (the cross-entropy against the
            row's target; the score is then loss after removal − loss before) (default 'logit').
        contrast: the other class of output='margin' or 'probability_margin', a label name or index (default None:
            each row's highest other class).

    Returns:
        Scores: signed output drops, higher = more evidence for the target (negative: the text scores higher
        without the feature). Special tokens score 0. Extras per row: output_before, table (per feature: its text,
        positions, output_after, predicted_after, probabilities_after, difference) and, for output='margin' or
        'probability_margin', contrast (the class's name).

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods={"occlusion": {"unit": "word"}})
        >>> [row["word"] for row in explanation["occlusion"][0].extras["table"]]
        ['a', 'warm', 'and', 'funny', 'film']
    """

    name = "occlusion"
    Settings = OcclusionSettings

    def perturbation_masks(self, batch: Batch) -> tuple[list[Groups], list[torch.Tensor]]:
        groups = feature_groups(batch, self.unit)
        return groups, [~torch.eye(len(g), dtype=torch.bool) for g in groups]

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        groups, masks = self.planned_masks(batch)
        values, scored = self.values(batch, targets, groups, masks)
        base, chosen = self.classifier.batch_logits(batch).float().cpu(), targets.tolist()  # once, not per row
        scores = torch.zeros(batch.input_ids.shape, dtype=torch.float64)
        extras = []
        for row, row_groups in enumerate(groups):
            before = float(self.measure(base[row : row + 1], chosen[row], base[row])[0])
            probabilities = torch.softmax(scored.logits[row].double(), dim=-1)
            # plain lists once per row: per-feature tensor indexing dominated the cost of short texts
            differences, after = (before - values[row]).tolist(), values[row].tolist()
            predicted, probability_rows = probabilities.argmax(dim=-1).tolist(), probabilities.tolist()
            spread = [(p, differences[f]) for f, positions in enumerate(row_groups) for p in positions]
            if spread:
                scores[row, [p for p, _ in spread]] = torch.tensor([d for _, d in spread], dtype=torch.float64)
            table = [
                {
                    self.unit: self._feature_text(batch, row, positions),
                    "positions": positions,
                    "output_after": after[f],
                    "predicted_after": self.classifier.labels[predicted[f]],
                    "probabilities_after": probability_rows[f],
                    "difference": differences[f],
                }
                for f, positions in enumerate(row_groups)
            ]
            extras.append(self._row_extras(base[row], chosen[row], before, table))
        return Attributions(scores.float(), extras)

    def _feature_text(self, batch: Batch, row: int, positions: list[int]) -> str:
        word = batch.word_ids[row][positions[0]]
        ungrouped = self.unit == "group" and batch.token_groups[row][positions[0]] is None
        if word is None or self.unit == "token" or ungrouped:
            return "".join(batch.tokens[row][p] for p in positions)
        if self.unit == "whitespace":
            side, start, end = whitespace_span(batch, row, word)
            return (batch.texts[row] if side == 0 else batch.pairs[row])[start:end]
        if self.unit in ("sentence", "group"):
            side, start, _ = batch.words[row][word]
            last = next(w for p in reversed(positions) if (w := batch.word_ids[row][p]) is not None)
            _, _, end = batch.words[row][last]
            return (batch.texts[row] if side == 0 else batch.pairs[row])[start:end]
        return batch.word_text(row, word)

    def _row_extras(self, logits: torch.Tensor, target: int, before: float, table: list[dict]) -> dict[str, Any]:
        extras: dict[str, Any] = {"output_before": before, "table": table}
        if self.output in ("margin", "probability_margin"):
            extras["contrast"] = self.classifier.labels[self.contrast_of(logits, target)]
        return extras
