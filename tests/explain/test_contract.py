"""The explainer contract (`faithlab.explain.base.Explainer`), checked for every registered method on every family.

Each method must: give one score per token; give the same scores for the same settings and seed; score a text the
same alone as in a batch of texts of other lengths; give the same scores whether `prepare` ran its first pass or
`attribute` ran everything on an empty cache, leaving no prepared pass unused; and leave the model as it found it
(weights bit-identical, no hook or patched `forward` left behind), also when an error is raised midway.
Settings are kept small so the whole file stays fast; the methods' own tests check their numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from faithlab.errors import FaithlabError
from faithlab.explain import EXPLAINERS, get_explainer
from faithlab.explain.base import Explainer, expand_targets, explain_batch
from faithlab.models import Classifier
from faithlab.models.zoo import ZOO_FAMILIES
from tiny_families import NEW_FAMILIES

LIME = {"n_samples": 16, "seed": 5}
SETTINGS: dict[str, dict] = {
    "attention_sum": {},
    "attention_mean": {},
    "rollout": {},
    "random": {"seed": 5},
    "gradient": {},
    "gradient_abs": {},
    "grad_x_input": {},
    # auto: the prepared first level of 4 nodes, then 8 nodes for rows still above the target delta
    "ig": {"n_steps": "auto", "method": "gauss_legendre", "max_steps": 8},
    "lime": LIME,
    "kernel_shap": {"n_samples": 64, "seed": 5},  # a fixed budget must cover n + 1 (up to 45 features here)
    "occlusion": {},
    "lrp": {},
    "ensemble": {"methods": ["lime", "grad_x_input"], "member_settings": {"lime": LIME}},  # a prepared member, then not
}
MODEL_FREE = {"random"}  # methods whose `attribute` never runs the model
REFUSED = {  # (method, family) pairs where the method cannot work and must say why
    ("lrp", "deberta-v2"), ("grad_x_input", "modernbert"), ("ensemble", "modernbert"),  # the ensemble has grad_x_input
    ("lrp", "prompted gpt2"),  # its labels have several tokens, scored through log-softmaxes LRP has no rule for
}
# causal LMs prompted as classifiers (tiny_prompted.PROMPTS), by their adapter's family: one-token labels (Llama),
# labels of several tokens (GPT-2); their template has no pair slot
PROMPTED = {"prompted llama": "llama", "prompted gpt2": "gpt2-phrases"}

# (texts, pair texts): rows of different lengths, alone and as sentence pairs
INPUTS = {
    "texts": (["great", "the movie was great and fun to watch", "a dull , boring film that is not good at all"], None),
    "pairs": (["a man walks", "the plot is clever although it drags"], ["a person is walking", "it is slow"]),
}
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}  # float32 passes over batches of different widths


def test_every_registered_method_is_covered() -> None:
    assert set(SETTINGS) == set(EXPLAINERS), "give each registered method cheap settings here"


@pytest.fixture(params=sorted(EXPLAINERS))
def method(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=[*ZOO_FAMILIES, *(f for f in NEW_FAMILIES if f not in ZOO_FAMILIES), *PROMPTED])
def family(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def classifier(tiny_classifiers: dict[str, Classifier], family_classifiers: dict[str, Classifier],
               prompted_classifiers: dict[str, Classifier], family: str) -> Classifier:
    if family in PROMPTED:
        return prompted_classifiers[PROMPTED[family]]
    return {**tiny_classifiers, **family_classifiers}[family]


def _explainer(method: str, classifier: Classifier) -> Explainer:
    if (method, classifier.adapter.family) in REFUSED:
        with pytest.raises(FaithlabError, match=classifier.adapter.family):
            get_explainer(method, classifier, **SETTINGS[method])
        pytest.skip(f"{method} refuses {classifier.adapter.family}, with a message (checked)")
    return get_explainer(method, classifier, **SETTINGS[method])


@pytest.mark.parametrize("inputs", sorted(INPUTS))
def test_one_score_per_token_the_same_for_the_same_seed_and_alone_as_in_a_batch(
    method: str, classifier: Classifier, inputs: str
) -> None:
    texts, pairs = INPUTS[inputs]
    if pairs is not None and classifier.adapter.family in PROMPTED:
        pytest.skip("the prompt has no pair slot")
    together = _explainer(method, classifier).explain(texts, pairs)
    explainer = _explainer(method, classifier)  # a second one with the same settings (and seed)
    assert len(together) == len(texts)
    for row, (joint, again) in enumerate(zip(together, explainer.explain(texts, pairs), strict=True)):
        assert joint.scores.shape == (len(joint.tokens),)
        assert np.isfinite(joint.scores).all()
        np.testing.assert_array_equal(joint.scores, again.scores)
        (alone,) = explainer.explain([texts[row]], None if pairs is None else [pairs[row]])
        assert alone.target == joint.target
        np.testing.assert_allclose(joint.scores, alone.scores, **TOLERANCE, err_msg=f"row {row}")


@pytest.mark.parametrize("inputs", sorted(INPUTS))
def test_prepare_and_attribute_alone_give_the_same_scores(method: str, classifier: Classifier, inputs: str) -> None:
    texts, pairs = INPUTS[inputs]
    if pairs is not None and classifier.adapter.family in PROMPTED:
        pytest.skip("the prompt has no pair slot")
    explainer = _explainer(method, classifier)
    prepared = classifier.encode(texts, pairs)
    explainer.prepare(prepared, None)  # as `explain_batch` does while the logits are unknown
    prepared, targets = expand_targets(classifier, prepared, None)
    fast = explainer.attribute(prepared, targets)
    assert prepared.cache.pending_prepared() == [], "attribute must use the pass prepare ran"
    plain = explainer.attribute(classifier.encode(texts, pairs), targets)  # an empty cache: attribute does it all
    content = prepared.content_mask
    torch.testing.assert_close(fast.scores[content].float(), plain.scores[content].float(), **TOLERANCE)
    _assert_same_extras(fast.extras, plain.extras)


def _assert_same_extras(fast: object, plain: object) -> None:
    """Equal extras: numbers to the float32 tolerance, everything else (keys, counts, names, flags) exactly.

    IG's relative_delta is left out: it divides float32 rounding by the tiny random models' gaps f(x) − f(x') of
    about 1e-5, so it is noise over noise; the convergence_delta it comes from is compared.
    """
    if isinstance(fast, dict):
        assert isinstance(plain, dict) and fast.keys() == plain.keys()
        for key in fast.keys() - {"relative_delta"}:
            _assert_same_extras(fast[key], plain[key])
    elif isinstance(fast, (list, tuple)):
        assert isinstance(plain, (list, tuple)) and len(fast) == len(plain)
        for one, other in zip(fast, plain, strict=True):
            _assert_same_extras(one, other)
    elif isinstance(fast, float):
        assert plain == pytest.approx(fast, rel=TOLERANCE["rtol"], abs=TOLERANCE["atol"])
    else:
        assert fast == plain


def _model_state(model: nn.Module) -> tuple:
    """Everything a method could leave behind: hooks (per module and global), patched forwards, weights, modes."""
    hooks = [
        (name, len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks), len(m._backward_pre_hooks))
        for name, m in model.named_modules()
    ]
    patched = [name for name, m in model.named_modules() if "forward" in vars(m)]
    globals_ = (
        len(nn.modules.module._global_forward_hooks),
        len(nn.modules.module._global_forward_pre_hooks),
        len(nn.modules.module._global_backward_hooks),
    )
    flags = [(name, p.requires_grad) for name, p in model.named_parameters()] + [model.training]
    return hooks, patched, globals_, flags


def _assert_left_as_found(model: nn.Module, state: tuple, weights: dict[str, torch.Tensor]) -> None:
    hooks, patched, globals_, flags = _model_state(model)
    assert hooks == state[0], "a hook was left on a module"
    assert patched == state[1], "a module's forward was left patched"
    assert globals_ == state[2], "a global module hook was left"
    assert flags == state[3], "requires_grad or training mode changed"
    after = model.state_dict()
    assert after.keys() == weights.keys()
    for key, value in weights.items():
        assert torch.equal(after[key], value), f"weight {key} changed"


@contextlib.contextmanager
def _head_raises(model: nn.Module) -> Iterator[list[int]]:
    """Make the classification head (the last Linear layer to the labels, or to the vocabulary for a prompted causal
    LM) raise, after the encoder has run."""
    sizes = (model.config.num_labels, model.config.vocab_size)
    head = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features in sizes][-1]
    calls: list[int] = []
    original = nn.Linear.forward

    def forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        if self is head:
            calls.append(1)
            raise RuntimeError("raised midway by the contract test")
        return original(self, x)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nn.Linear, "forward", forward)
        yield calls


def _install_transformers_recorders(classifier: Classifier) -> None:
    """transformers installs its output-capturing hooks on a model's first call with `output_attentions` and keeps
    them for good; make that call before the snapshot, so the snapshot catches only what a method leaves behind
    (without it, whether the first attention method seems to leave a hook depends on the tests that ran before)."""
    batch = classifier.encode(*INPUTS["texts"])
    with torch.inference_mode():
        classifier.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids, output_attentions=True)


def test_the_model_is_left_as_found_also_after_an_error(method: str, classifier: Classifier) -> None:
    model = classifier.model
    _install_transformers_recorders(classifier)
    state = _model_state(model)
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    texts, pairs = INPUTS["texts"]
    explainer = _explainer(method, classifier)
    explainer.explain(texts, pairs)
    _assert_left_as_found(model, state, weights)

    for known_logits in (False, True):  # raise in the method's own first pass, then in `attribute`'s pass
        batch = classifier.encode(texts, pairs)
        if known_logits:
            classifier.batch_logits(batch)
        with _head_raises(model) as calls:
            if known_logits and method in MODEL_FREE:
                explain_batch(explainer, batch)
            else:
                with pytest.raises(RuntimeError, match="midway"):
                    explain_batch(explainer, batch)
        assert bool(calls) != (known_logits and method in MODEL_FREE)
        _assert_left_as_found(model, state, weights)
