"""The sanity checks and robustness metrics on texts longer than the model's limit (sliding windows): parameter
randomization (MPRT, eMPRT, sMPRT), the top-k attack and F-Fidelity read a long text whole, compare like with like,
stay within the token budget, and leave short texts exactly as before."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from faithlab.bench.config import parse_config
from faithlab.bench.runner import UnitSpec, execute
from faithlab.data.records import Example
from faithlab.errors import FaithlabError
from faithlab.evaluate import evaluate_attack, evaluate_randomization, evaluate_road
from faithlab.evaluate.adversarial import AttackWindows, _Attack
from faithlab.evaluate.efficient_randomization import evaluate_efficient_randomization, histogram_entropy
from faithlab.evaluate.ffidelity import _removals, _windowed_backward, evaluate_ffidelity, fine_tuned_copy
from faithlab.evaluate.normalized_aopc import evaluate_normalized_aopc
from faithlab.evaluate.randomization import current_scores, transformer_blocks
from faithlab.evaluate.ranking import rank_correlation
from faithlab.evaluate.roar import evaluate_roar, method_importance
from faithlab.evaluate.smooth_randomization import evaluate_smooth_randomization, noise_tables, noisy_scores
from faithlab.evaluate.soft_removal import evaluate_soft_removal
from faithlab.explain import get_explainer
from faithlab.explain.base import expand_targets
from faithlab.explain.perturbation import feature_groups, perturb_row
from faithlab.models import Classifier
from faithlab.models.reinit import reinitialized_block
from faithlab.models.windows import Windows, encode_windowed
from long_texts import LIMIT, LONG, limited, window_mean_logits

SHORT = ["a warm and funny film", "dull and slow"]


@pytest.fixture
def bert(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    return limited(tiny_classifiers["bert"])


def spans(classifier: Classifier, text: str) -> list[list[int]]:
    """Each window's whole-text positions (the window rule's own layout, BERT's one [CLS] and one [SEP])."""
    n = len(classifier.encode(text, truncate=False).tokens[0])
    return Windows(LIMIT, 1, 1, (LIMIT - 2) // 2).positions(n)


def assert_close(actual, expected) -> None:
    """Equal up to float rounding, relative to the scale of `expected` (tiny random models give tiny scores)."""
    actual, expected = (x.detach().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=float)
                        for x in (actual, expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


# ----- parameter randomization --------------------------------------------------------------------------------
def test_randomization_of_a_long_text_compares_whole_text_explanations(bert: Classifier) -> None:
    explainer = get_explainer("grad_x_input", bert)
    (explanation,) = explainer.explain([LONG])
    assert len(explanation.tokens) >= 3 * LIMIT and explanation.windows
    rows = evaluate_randomization([explainer], [LONG], mode="independent")
    content = explanation.content
    blocks = transformer_blocks(bert.model)
    for row in (r for r in rows if r.metric == "randomization_spearman"):
        layer = row.settings["layer"]
        # independently: the explanation `explain` gives with that block re-initialised, over every whole-text token
        with reinitialized_block(blocks[layer], bert.model.config, "model", layer):
            (random,) = explainer.explain([LONG])
        assert random.tokens == explanation.tokens
        assert np.all(random.scores[content] != 0)
        assert row.value == pytest.approx(rank_correlation(explanation.scores[content], random.scores[content]))
        assert row.value < 0.999  # the block changed the explanation


def test_the_unrandomized_explanation_of_a_long_text_is_the_original(bert: Classifier) -> None:
    """What randomization re-explains at each step is the explanation of the whole text: with no block changed, the
    re-explanation equals `explain`'s (so its rank correlation with the original is 1)."""
    explainer = get_explainer("grad_x_input", bert)
    (explanation,) = explainer.explain([LONG])
    batch, targets = expand_targets(bert, encode_windowed(bert, [LONG]), None)
    again = current_scores(explainer, batch, targets)[0, : len(explanation.tokens)]
    assert_close(again, explanation.scores)
    content = explanation.content
    assert rank_correlation(explanation.scores[content], again[content]) == pytest.approx(1.0)


def test_efficient_randomization_of_a_long_text_uses_its_whole_explanation(bert: Classifier) -> None:
    explainer = get_explainer("grad_x_input", bert)
    (explanation,) = explainer.explain([LONG])
    (row,) = evaluate_efficient_randomization([explainer], [LONG])
    expected = histogram_entropy(explanation.scores[explanation.content], 10)
    assert row.details["entropy_original"] == pytest.approx(expected)
    assert np.isfinite(row.value)


def test_smooth_randomization_of_a_long_text_without_noise_is_its_explanation(bert: Classifier) -> None:
    explainer = get_explainer("grad_x_input", bert)
    (explanation,) = explainer.explain([LONG])
    batch, targets = expand_targets(bert, encode_windowed(bert, [LONG]), None)
    (table,) = noise_tables(bert, 1, 0.0, 0, batch.input_ids.shape[1])
    scores = noisy_scores(explainer, batch, targets, table)[0]
    assert_close(scores, explanation.scores)
    rows = evaluate_smooth_randomization([explainer], [LONG], samples=2, noise=0.1)
    assert len(rows) == len(transformer_blocks(bert.model)) and all(np.isfinite(r.value) for r in rows)


def test_smooth_randomization_noise_follows_whole_text_positions(bert: Classifier) -> None:
    """Noise on one whole-text position changes the windows that read it and no other: a token read only by other
    windows keeps its score (noise by window position would reach every window)."""
    explainer = get_explainer("grad_x_input", bert)
    batch, targets = expand_targets(bert, encode_windowed(bert, [LONG]), None)
    windows = spans(bert, LONG)
    noisy = windows[0][3]  # a content token of the first window only
    assert all(noisy not in w for w in windows[1:])
    table = torch.zeros(batch.input_ids.shape[1], bert.model.config.hidden_size)
    table[noisy] = 5 * torch.randn(table.shape[1], generator=torch.Generator().manual_seed(0))  # not a constant:
    # LayerNorm would remove that
    clean = noisy_scores(explainer, batch, targets, torch.zeros_like(table))[0]
    shifted = noisy_scores(explainer, batch, targets, table)[0]
    untouched = sorted(set(range(len(clean))) - set(windows[0]))
    np.testing.assert_allclose(shifted[untouched], clean[untouched], rtol=1e-5)
    assert np.all(np.abs(shifted - clean)[windows[0][1:-1]] > 1e-4 * np.abs(clean[windows[0][1:-1]]))


def test_noise_tables_are_the_same_on_their_first_rows_at_any_length(bert: Classifier) -> None:
    (short,) = noise_tables(bert, 1, 0.1, 3)
    (long,) = noise_tables(bert, 1, 0.1, 3, 3 * LIMIT + 5)
    assert short.shape[0] == LIMIT and long.shape[0] >= 3 * LIMIT + 5
    assert torch.equal(long[:LIMIT], short)
    assert not torch.allclose(long[LIMIT : 2 * LIMIT], short)  # later blocks are drawn afresh


def test_smooth_randomization_refuses_a_removal_method_on_a_long_text(bert: Classifier) -> None:
    with pytest.raises(FaithlabError, match=r"longer than the model's limit .* 'occlusion'"):
        evaluate_smooth_randomization([get_explainer("occlusion", bert)], [LONG], samples=1)


# ----- the top-k attack ---------------------------------------------------------------------------------------
def attack_state(explainer, texts: list[str]) -> _Attack:
    classifier = explainer.classifier
    batch, targets = expand_targets(classifier, encode_windowed(classifier, texts), None)
    settings = {"k_fraction": 0.15, "objective": "constrained", "lr": 0.1, "alpha": 1.0, "beta": 10.0}
    return _Attack(explainer, batch, targets, settings)


@pytest.mark.parametrize(("method", "settings"), [("grad_x_input", {}), ("ig", {"n_steps": 3})])
def test_the_attacked_long_text_is_read_whole_through_its_windows(bert: Classifier, method: str,
                                                                  settings: dict) -> None:
    """At a random δ over the whole text: the prediction is the mean of the windows' logits computed by hand, and
    the scores are the windows' own explanations at the perturbed embeddings, combined by the window rule."""
    explainer = get_explainer(method, bert, **settings)
    state = attack_state(explainer, [LONG])
    ids = state.batch.input_ids[0]
    delta = torch.randn_like(state.words, generator=torch.Generator().manual_seed(0)) * state.content[..., None]
    scores, logits = state._scores(torch.tensor([0]), delta)
    windows = spans(bert, LONG)
    hand_logits, hand_scores = [], torch.zeros(len(ids))
    for positions in windows:
        row = ids[positions][None]
        x = (bert.word_embeddings(row) + delta[0, positions][None]).detach()
        hand_logits.append(bert.logits_from_embeddings(x, row, torch.ones_like(row), torch.zeros_like(row))[0])
        ones, zeros = torch.ones_like(row), torch.zeros_like(row)
        with torch.enable_grad():
            x = x.requires_grad_(True)
            if method == "ig":  # its baseline: the baseline token at the window's content, its [CLS] and [SEP] kept
                plain = row.clone()
                plain[0, 1:-1] = bert.replacement_id(explainer.settings["baseline"])
                baseline = bert.word_embeddings(plain).detach()
                s, _ = explainer.differentiable_scores(x, row, ones, zeros, state.targets[:1], baseline=baseline)
            else:
                s, _ = explainer.differentiable_scores(x, row, ones, zeros, state.targets[:1])
        hand_scores[positions] += s[0].detach()
    expected = torch.stack(hand_logits).mean(dim=0)
    assert_close(logits[0], expected)
    assert_close(scores[0], hand_scores / len(windows))


def test_the_attack_gradient_of_a_long_text_is_that_of_its_whole_graph(bert: Classifier) -> None:
    """The two-pass, chunked gradient equals autograd through every window at once."""
    explainer = get_explainer("grad_x_input", bert)
    state = attack_state(explainer, [LONG, "a short one"])
    windows: AttackWindows = state.windows
    texts = torch.tensor([0, 1])
    generator = torch.Generator().manual_seed(1)
    delta = torch.randn_like(state.words, generator=generator) * state.content[..., None] * 0.1
    d_scores = torch.randn(2, state.words.shape[1], generator=generator)
    d_logits = torch.randn(2, len(bert.labels), generator=generator)
    chunked = windows.gradient(texts, delta, d_scores, d_logits)
    with torch.enable_grad():
        d = delta.clone().requires_grad_(True)
        every = torch.arange(len(windows.owner))
        scores, logits = windows._outputs(every, d)
        counts = windows.counts[windows.owner, None]
        combined = torch.zeros(2, d.shape[1]).index_put((windows.owner[:, None].expand_as(windows.index),
                                                          windows.index), scores * windows.real, accumulate=True)
        mean = torch.zeros(2, logits.shape[1]).index_add(0, windows.owner, logits / counts)
        value = (combined / windows.counts[:, None] * d_scores).sum() + (mean * d_logits).sum()
        (whole,) = torch.autograd.grad(value, d)
    assert_close(chunked, whole)
    assert chunked[0].abs().sum() > 0


def test_the_attack_on_a_long_text_keeps_the_prediction_within_the_budget(tiny_classifiers) -> None:
    shapes: list[tuple[int, int]] = []
    budget = 3 * LIMIT
    classifier = limited(tiny_classifiers["bert"], budget=budget, observer=shapes.append)
    rows = evaluate_attack(get_explainer("grad_x_input", classifier), [LONG, "a short one"], steps=2,
                           objective="constrained")
    assert {r.example for r in rows} == {0, 1}
    assert all(r.details["label_kept"] for r in rows)
    change = next(r for r in rows if r.example == 0 and r.metric == "attack_rank_change")
    assert change.details["k"] == int(0.15 * (len(encode_windowed(classifier, [LONG]).tokens[0]) - 2))
    assert max(width for _, width in shapes) <= LIMIT
    assert max(r * w for r, w in shapes) <= budget


def test_the_attack_on_short_texts_is_as_before(bert: Classifier) -> None:
    explainer = get_explainer("grad_x_input", bert)
    new = evaluate_attack(explainer, SHORT, steps=5)
    batch, targets = expand_targets(bert, bert.encode(SHORT), None)  # the truncating encoding used before
    assert batch.window is None
    old = _Attack(explainer, batch, targets, dict(new[0].settings))
    for _ in range(5):
        active = old.active.nonzero().flatten()
        if not len(active):
            break
        old.advance(active)
    assert [(r.metric, r.value) for r in new] == [(r.metric, r.value) for r in old.rows()]


# ----- F-Fidelity ---------------------------------------------------------------------------------------------
def test_ffidelity_of_a_long_text_removes_from_the_whole_text(bert: Classifier) -> None:
    """With no fine-tuning, each FFid draw is a removal from the whole text scored by the mean of its windows."""
    (explanation,) = get_explainer("grad_x_input", bert).explain([LONG])
    rows = evaluate_ffidelity(bert, [explanation], fractions=[0.2, 0.5], samples=3, steps=0, mask_rate=0.2)
    ids = bert.encode(LONG, truncate=False).input_ids[0].tolist()
    keep = _removals(explanation, explanation.method, [0.2, 0.5], 0.2, 3, 0)
    mask, target = bert.replacement_id("mask"), explanation.target
    base = torch.softmax(window_mean_logits(bert, ids), -1)[target]
    drops = []
    for flags in keep:
        removed = list(ids)
        for position in explanation.content[~flags]:  # content: the content tokens' positions
            removed[position] = mask
        drops.append(float(base - torch.softmax(window_mean_logits(bert, removed), -1)[target]))
    plus, minus = (next(r for r in rows if r.metric == m) for m in ("ffidelity_plus", "ffidelity_minus"))
    assert plus.value == pytest.approx(np.mean(drops[:6]), abs=1e-5)
    assert minus.value == pytest.approx(np.mean(drops[6:]), abs=1e-5)


def test_fine_tuning_on_a_long_text_follows_the_mean_of_its_windows(tiny_classifiers) -> None:
    """The chunked fine-tuning gradient of a masked long text equals that of the cross-entropy of its windows' mean
    logits through one whole graph, and no pass exceeds the token budget."""
    shapes: list[tuple[int, int]] = []
    budget = 2 * LIMIT
    base = limited(tiny_classifiers["bert"], budget=budget, observer=shapes.append)
    batch = encode_windowed(base, [LONG])
    ids = batch.input_ids[0].clone()
    content = torch.nonzero(batch.content_mask[0]).flatten()
    ids[content[::3]] = base.replacement_id("mask")  # a masked whole text
    label = torch.tensor([1])
    chunked = limited(Classifier(copy.deepcopy(base.model), base.tokenizer, "copy"), budget=budget,
                      observer=shapes.append)
    _windowed_backward(chunked, [(ids, batch.token_type_ids[0])], label, batch.window, base.replacement_id("pad"))
    assert max(w for _, w in shapes) <= LIMIT and max(r * w for r, w in shapes) <= budget
    whole = copy.deepcopy(base.model)
    rows = [ids[p] for p in spans(base, LONG)]
    logits = torch.stack([whole(input_ids=r[None], attention_mask=torch.ones(1, len(r), dtype=torch.long)).logits[0]
                          for r in rows]).mean(dim=0)
    torch.nn.functional.cross_entropy(logits[None], label).backward()
    grads = [(p.grad, q.grad) for p, q in zip(chunked.model.parameters(), whole.parameters(), strict=True)
             if q.grad is not None]
    assert_close(torch.cat([g.flatten() for g, _ in grads]), torch.cat([g.flatten() for _, g in grads]))
    tuned = fine_tuned_copy(base, batch, steps=2, mask_rate=0.3, lr=1e-2, batch_size=1, seed=4, replacement="mask")
    assert max(w for _, w in shapes) <= LIMIT and max(r * w for r, w in shapes) <= budget
    assert any(not torch.equal(p, q) for p, q in zip(tuned.model.parameters(), base.model.parameters(), strict=True))


def test_fine_tuning_on_short_texts_is_as_before(bert: Classifier) -> None:
    """Short texts take the path they took before: one padded batch per step and one backward, bit for bit."""
    batch = encode_windowed(bert, SHORT)
    assert batch.window is None
    tuned = fine_tuned_copy(bert, batch, steps=2, mask_rate=0.3, lr=1e-3, batch_size=2, seed=5, replacement="mask")
    model = copy.deepcopy(bert.model).requires_grad_(True)  # the earlier loop, written out
    reader = Classifier(model, bert.tokenizer, "copy", max_length=LIMIT)
    labels = bert.batch_logits(batch).argmax(dim=-1)
    groups = feature_groups(batch, "token")
    rng, mask, pad = np.random.default_rng(5), bert.replacement_id("mask"), bert.replacement_id("pad")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(2):
        rows = rng.choice(2, size=2, replace=False)
        ids = torch.full((2, batch.input_ids.shape[1]), pad, dtype=torch.long)
        attention, tt = torch.zeros_like(ids), torch.zeros_like(ids)
        for i, r in enumerate(rows):
            keep = torch.from_numpy(rng.random((1, len(groups[r]))) >= 0.3)
            row_ids, row_tt, lengths = perturb_row(batch, int(r), groups[r], keep, "mask", mask, pad)
            n = int(lengths[0])
            ids[i, :n], attention[i, :n], tt[i, :n] = row_ids[0, :n], 1, row_tt[0, :n]
        loss = torch.nn.functional.cross_entropy(reader.forward(ids, attention, tt).logits, labels[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(torch.equal(p, q) for p, q in zip(tuned.model.parameters(), model.parameters(), strict=True))
    assert any(not torch.equal(p, q) for p, q in zip(tuned.model.parameters(), bert.model.parameters(), strict=True))


# ----- the other removal metrics ------------------------------------------------------------------------------
def test_soft_removal_of_a_long_text_drops_out_the_whole_text_through_its_windows(tiny_classifiers) -> None:
    shapes: list[tuple[int, int]] = []
    budget = 3 * LIMIT
    bert = limited(tiny_classifiers["bert"], budget=budget, observer=shapes.append)
    (explanation,) = get_explainer("grad_x_input", bert).explain([LONG])
    rows = evaluate_soft_removal(bert, [explanation], samples=2)
    assert max(w for _, w in shapes) <= LIMIT and max(r * w for r, w in shapes) <= budget
    # the empty rationale by hand: every content embedding of the whole text zeroed, then its windows run
    ids = bert.encode(LONG, truncate=False).input_ids[0]
    embeddings = bert.word_embeddings(ids[None])[0].detach()
    embeddings[explanation.content] = 0
    logits = []
    for positions in spans(bert, LONG):
        row = ids[positions][None]
        logits.append(bert.logits_from_embeddings(embeddings[positions][None], row, torch.ones_like(row),
                                                  torch.zeros_like(row))[0].detach())
    empty = torch.softmax(torch.stack(logits).double().mean(dim=0), -1)[explanation.target]
    for row in rows:
        assert row.details["empty_probability"] == pytest.approx(float(empty), abs=1e-6)
        assert len(row.details["per_sample"]) == 2


def test_normalized_aopc_of_a_long_text_runs_within_the_budget(tiny_classifiers) -> None:
    shapes: list[tuple[int, int]] = []
    budget = 3 * LIMIT
    bert = limited(tiny_classifiers["bert"], budget=budget, observer=shapes.append)
    text = "the movie was great and fun to watch . a dull , boring film that is not good"  # two windows: the
    (explanation,) = get_explainer("grad_x_input", bert).explain([text])  # beam search costs n² inputs
    assert len(explanation.windows) == 2
    rows = evaluate_normalized_aopc(bert, [explanation], beam_size=2)
    assert {r.metric for r in rows} == {"naopc_comprehensiveness", "naopc_sufficiency"}
    assert all(0 <= r.value <= 1 for r in rows if np.isfinite(r.value))
    assert max(w for _, w in shapes) <= LIMIT and max(r * w for r, w in shapes) <= budget


def test_road_refuses_a_long_text_and_says_why(bert: Classifier) -> None:
    (explanation,) = get_explainer("grad_x_input", bert).explain([LONG])
    with pytest.raises(FaithlabError, match="infills each removed token from the whole text around it"):
        evaluate_road(bert, [explanation], infill_model="unused")


def test_randomization_of_a_long_text_stays_within_the_budget(tiny_classifiers) -> None:
    shapes: list[tuple[int, int]] = []
    budget = 3 * LIMIT
    bert = limited(tiny_classifiers["bert"], budget=budget, observer=shapes.append)
    gradient, ig = get_explainer("grad_x_input", bert), get_explainer("ig", bert, n_steps=2)
    texts = [LONG, "a short one"]
    layers = len(transformer_blocks(bert.model))
    assert len(evaluate_randomization([gradient, ig], texts)) == 2 * 2 * 2 * layers  # texts × methods × 2 × steps
    assert len(evaluate_efficient_randomization([gradient], texts)) == 2
    assert len(evaluate_smooth_randomization([gradient], texts, samples=1)) == 2 * layers
    assert len(shapes) > 20
    assert max(w for _, w in shapes) <= LIMIT and max(r * w for r, w in shapes) <= budget


def test_the_bench_runs_its_randomization_and_attack_units_on_long_texts(tmp_path, tiny_folders, bert) -> None:
    data = tmp_path / "texts.tsv"
    data.write_text(f"sentence\tlabel\n{LONG}\t0\na short one\t1\n")
    config = parse_config({
        "models": [{"name": "tiny", "path": str(tiny_folders["bert"])}],
        "datasets": [{"name": "long", "kind": "sst2", "path": str(data)}],
        "methods": ["grad_x_input", "random"],
        "metrics": ["randomization", "adversarial"],
        "samples": {"randomization": 2, "adversarial": 2},
        "adversarial": {"steps": 3},
    })
    examples = [Example(LONG, label=0), Example("a short one", label=1)]
    for kind in ("randomization", "adversarial"):
        records = execute(UnitSpec("tiny", "long", kind, kind, 0, 2), config, bert, examples)
        assert {r["example"] for r in records} == {0, 1}, kind
        assert all(np.isfinite(r["value"]) for r in records if r["method"] == "grad_x_input"), kind


def test_roar_ranks_and_scores_a_long_text_whole(bert: Classifier) -> None:
    """Its importance comes from the windowed explanation and its accuracy from the windowed prediction."""
    texts = [LONG, "a short one"]
    labels = [int(window_mean_logits(bert, bert.encode(t, truncate=False).input_ids[0].tolist()).argmax())
              for t in texts]  # the windowed predictions, so step 0 (the model as given) is right on both
    rows = evaluate_roar(bert, "grad_x_input", method_importance("grad_x_input"), (texts, labels), (texts, labels),
                         fractions=[0.5], retrain=lambda train, test, step: bert)
    assert rows[0].value == 1.0
    word_scores = method_importance("grad_x_input")(bert, [LONG])[0]
    assert len(word_scores.spans) == len(LONG.split())  # every word of the whole text is ranked
