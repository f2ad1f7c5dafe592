"""Reference methods: random scores (the floor every method must beat) and the ensemble of several methods."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch

from faithlab.errors import FaithlabError
from faithlab.explain.base import Attributions, Explainer, Target, cached_attribute, get_explainer, register
from faithlab.explain.settings import EnsembleSettings, RandomSettings
from faithlab.models import Batch, Classifier


@register
class RandomScores(Explainer):
    """Random scores on content tokens: uniform on [-1, 1) or standard normal.

    The floor every method must beat: a metric on which random scores do as well as a method says nothing for that
    method (the random baseline of Hooker et al. 2019, "A Benchmark for Interpretability Methods in Deep Neural
    Networks", and of Adebayo et al. 2018). It never runs the model beyond the prediction. Each row draws from its
    own generator, seeded by `seed` and a hash of its text, pair text and target, so a text gets the same scores
    whatever else is in the batch.

    Args:
        seed: seed of the draws (default 0).
        distribution: 'uniform' on [-1, 1) or standard 'normal' (default 'uniform').

    Returns:
        Scores: random, signed, independent of the model; special tokens score 0. No extras.

    Example:
        >>> explanation = fl.explain(model, "a warm and funny film", methods={"random": {"seed": 7}})["random"][0]
        >>> float(explanation.scores[0]), explanation.output  # [CLS] scores 0; nothing is explained
        (0.0, 'none')
    """

    name = "random"
    Settings = RandomSettings
    reads_whole_text = True  # one draw per token of the whole text; no pass beyond the prediction

    @property
    def output(self) -> str:
        return "none"

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        content = batch.content_mask.cpu()
        scores = torch.zeros(content.shape)
        for row in range(len(batch)):
            generator = torch.Generator().manual_seed(self._row_seed(batch, row, int(targets[row])))
            n = int(content[row].sum())
            if self.settings["distribution"] == "uniform":
                draws = torch.rand(n, generator=generator) * 2 - 1
            else:
                draws = torch.randn(n, generator=generator)
            scores[row, content[row]] = draws
        return Attributions(scores.to(batch.input_ids.device))

    def _row_seed(self, batch: Batch, row: int, target: int) -> int:
        key = f"{self.settings['seed']}\x00{batch.texts[row]}\x00{batch.pairs[row]}\x00{target}"
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") >> 1


@register
class Ensemble(Explainer):
    """Mean of the members' explanations, each L1-normalised over content tokens first.

    Averaging attributions of several methods reduces the error of each (Rieger & Hansen 2020, "Aggregating
    explanation methods for stable and robust explainability"). Normalisation puts members on one scale (a logit
    gradient and a KernelSHAP value differ by orders of magnitude), so each member counts equally and the
    ensemble's content scores have an L1 norm of at most 1. Special tokens are left out of the norm and score 0:
    methods treat them in different ways (LRP's bias share on [CLS], nothing for removal methods). Averaging only
    makes sense for one quantity, so every member must explain the same `output`: members with an output setting
    take it from `member_settings` (e.g. `{"lime": {"output": "logit"}}`); the ensemble's replacement is the
    members' common one, or 'mixed'. Members run through the batch cache, so a member also requested on its own
    (say in `explain_many`) is computed once.

    Args:
        methods: the member methods, each at most once and no ensemble among them (default ('grad_x_input', 'ig',
            'lime', 'kernel_shap', 'occlusion', 'lrp')).
        member_settings: member name → its settings, e.g. {"ig": {"n_steps": 32}} (default {}).
        label: the ensemble's name in results, starting with 'ensemble' (default None: 'ensemble').

    Returns:
        Scores: the mean of the members' L1-normalised content scores, signed, higher = more evidence for the
        target; content scores have an L1 norm of at most 1 and special tokens score 0. Extras per row: members.

    Example:
        >>> settings = {"methods": ["grad_x_input", "occlusion"], "label": "ensemble_fast"}
        >>> explanation = fl.explain(model, "a warm and funny film", methods={"ensemble": settings})["ensemble_fast"][0]
        >>> explanation.extras["members"], bool(abs(explanation.scores).sum() <= 1 + 1e-6)
        (['grad_x_input', 'occlusion'], True)
    """

    name = "ensemble"
    Settings = EnsembleSettings
    reads_whole_text = True  # each member is run as its own kind asks (`Explainer`: texts longer than the limit)

    def __init__(self, classifier: Classifier, **settings: Any):
        super().__init__(classifier, **settings)
        if self.settings["label"] is not None:
            self.name = self.settings["label"]
        members = self.settings["member_settings"]
        self.members = [get_explainer(n, classifier, **members.get(n, {})) for n in self.settings["methods"]]
        self._output = common_output(self.members)

    @property
    def output(self) -> str:
        return self._output

    @property
    def replacement(self) -> str:
        replacements = {member.replacement for member in self.members}
        return replacements.pop() if len(replacements) == 1 else "mixed"

    def prepare(self, batch: Batch, target: Target) -> None:
        for member in self.members:  # the first member with a pass of its own gives the prediction
            if batch.cache.logits is None:
                member.prepare(batch, target)

    def attribute(self, batch: Batch, targets: torch.Tensor) -> Attributions:
        content = batch.content_mask.float()
        total = torch.zeros_like(content)
        for member in self.members:
            scores = cached_attribute(member, batch, targets).scores.float().to(content.device) * content
            norm = scores.abs().sum(dim=1, keepdim=True)
            total = total + torch.where(norm > 0, scores / norm.clamp_min(torch.finfo(norm.dtype).tiny), scores)
        names = [m.name for m in self.members]
        return Attributions(total / len(self.members), [{"members": names} for _ in range(len(batch))])


def common_output(members: Sequence[Explainer]) -> str:
    """The one quantity the members explain; an error naming each member's output when they differ, with the
    `member_settings` that would give them a common one where their methods allow it."""
    outputs = {member.name: member.output for member in members}
    if len(set(outputs.values())) == 1:
        return next(iter(outputs.values()))
    listing = ", ".join(f"{name}: {output}" for name, output in outputs.items())
    fixed = sorted({member.output for member in members if "output" not in member.settings})  # no output setting
    if len(fixed) > 1 or (fixed and fixed[0] in ("attention", "none")):
        hint = "these methods cannot explain one quantity; choose members that can"
    else:
        common = fixed[0] if fixed else "logit"
        settings = {name: {"output": common} for name, output in outputs.items() if output != common}
        hint = f"give them a common output through member_settings, e.g. member_settings={settings}"
    raise FaithlabError(f"ensemble members explain different quantities ({listing}); an ensemble averages one: {hint}")
