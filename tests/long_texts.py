"""A text about three times the tiny models' window, a classifier that reads through that window, and the window
rule written out by hand (independently of faithlab.models.windows), shared by the long-text tests."""

from __future__ import annotations

import torch

from faithlab.models import Classifier

LIMIT = 16
LONG = ("the movie was great and fun to watch . a dull , boring film that is not good . i loved every minute of it ! "
        "terrible acting but great music . it is fine , nothing special . the plot is clever although the ending "
        "drags . not bad at all , really")


def limited(base: Classifier, *, budget: int = 4096, observer=None, stride: int | None = None) -> Classifier:
    """The same model and tokenizer read through a limit of LIMIT tokens."""
    return Classifier(base.model, base.tokenizer, base.name, max_length=LIMIT, max_batch_tokens=budget,
                      window_stride=stride, pass_observer=observer)


def by_hand_windows(ids: list[int], prefix: int, suffix: int, size: int, stride: int) -> list[list[int]]:
    """The rows the window rule reads, written out independently of faithlab.models.windows."""
    head, content, tail = ids[:prefix], ids[prefix : len(ids) - suffix], ids[len(ids) - suffix :]
    if len(ids) <= prefix + size + suffix:
        return [ids]
    starts = [*range(0, len(content) - size, stride), len(content) - size]
    return [[*head, *content[s : s + size], *tail] for s in starts]


def window_mean_logits(classifier: Classifier, ids: list[int]) -> torch.Tensor:
    """Mean of the logits of the windows of `ids` (a BERT single text: [CLS] ... [SEP]), each run on its own."""
    size = LIMIT - 2
    rows = by_hand_windows(ids, 1, 1, size, size // 2)
    logits = [classifier.logits(torch.tensor([r]), torch.ones(1, len(r), dtype=torch.long),
                                torch.zeros(1, len(r), dtype=torch.long))[0] for r in rows]
    return torch.stack(logits).double().mean(dim=0)
