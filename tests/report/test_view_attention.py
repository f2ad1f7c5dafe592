"""Attention views: rollout and totals equal the explainers' numbers, top tokens skip specials and punctuation and
keep repeated tokens apart, export round-trips."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

import faithlab as fl
from faithlab.attention_export import attention_maps, read_attention, write_attention
from faithlab.errors import FaithlabError
from faithlab.explain.attention import attention_rollout
from faithlab.report.attention_views import (
    AttentionMaps,
    attention_payload,
    attention_totals,
    chosen_layers_figure,
    head_grid_figure,
    head_matrix_figure,
    is_punctuation_or_symbol,
    layer_average,
    rollout_matrix,
    top_attention,
)


def test_totals_and_rollout_equal_the_attention_explainers(tiny_classifiers) -> None:
    model = tiny_classifiers["bert"]
    texts = ["the movie was great", "not bad at all , really"]
    maps = attention_maps(model, texts)
    summed = fl.explain(model, texts, methods="attention_sum")["attention_sum"]
    for m, e in zip(maps, summed, strict=True):
        assert m.tokens == e.tokens
        assert attention_totals(m)["received"].to_numpy() == pytest.approx(e.scores, rel=2e-3)
    batch = model.encode(texts[1])
    expected = attention_rollout(model, batch)[0].numpy()
    assert rollout_matrix(maps[1]) == pytest.approx(expected, abs=2e-3)  # float16 storage
    assert layer_average(maps[0]).sum(axis=-1) == pytest.approx(np.ones((maps[0].layers, len(maps[0].tokens))),
                                                                abs=5e-3)


def _maps(tokens: list[str], special: list[bool], received: list[float]) -> AttentionMaps:
    n = len(tokens)
    matrix = np.tile(np.asarray(received) / n, (1, 1, n, 1))  # every query gives key k received[k] / n
    return AttentionMaps("t", None, tokens, special, matrix)


def test_top_tokens_skip_specials_punctuation_and_symbols_and_keep_repeats_apart() -> None:
    tokens = ["[CLS]", "profit", "`", "rose", "%", "profit", "...", "€", "[SEP]"]
    special = [True] + [False] * 7 + [True]
    totals = attention_totals(_maps(tokens, special, [9, 3, 8, 1, 7, 2, 6, 5, 9]))
    top = top_attention(totals, k=3)
    assert top["token"].tolist() == ["profit", "profit", "rose"]
    assert top["position"].tolist() == [1, 5, 3]
    assert top["received"].tolist() == pytest.approx([3, 2, 1], rel=1e-2)
    assert [is_punctuation_or_symbol(t) for t in ["`", "€", "##.", "Ġ,", "0.8", "pre-tax"]] == [
        True, True, True, True, False, False]
    with pytest.raises(FaithlabError, match="k must be"):
        top_attention(totals, k=0)


def test_figures_have_the_stated_panels(tiny_classifiers) -> None:
    m = attention_maps(tiny_classifiers["bert"], ["a woman is playing the guitar"])[0]
    assert len(head_grid_figure(m).get_axes()) == m.layers * m.heads
    full = head_matrix_figure(m, 1, 0).get_axes()[0]
    assert [t.get_text() for t in full.get_xticklabels()] == m.tokens
    assert len(chosen_layers_figure(m, [0, 1]).get_axes()) == 2
    with pytest.raises(FaithlabError, match="layer 5 does not exist"):
        head_matrix_figure(m, 5, 0)


def test_payload_is_float16_per_layer_and_export_round_trips(tiny_classifiers, tmp_path) -> None:
    maps = attention_maps(tiny_classifiers["bert"], ["the plot is clever", "i loved it !"])
    payload = attention_payload(maps[0], layers=[1])
    raw = np.frombuffer(base64.b64decode(payload["matrices"]["1"]), dtype="<f2")
    assert raw.reshape(maps[0].heads, len(maps[0].tokens), -1) == pytest.approx(
        maps[0].matrices[1].astype(np.float32))
    json.dumps(payload)
    back = read_attention(write_attention(maps, tmp_path / "att.npz"))
    assert [b.tokens for b in back] == [m.tokens for m in maps] and back[1].text == "i loved it !"
    assert np.array_equal(back[1].matrices, maps[1].matrices)
    from safetensors.numpy import load_file

    loaded = load_file(str(write_attention(maps, tmp_path / "att.safetensors")))
    assert np.array_equal(loaded["text0/layer1"], maps[0].matrices[1])
    with pytest.raises(FaithlabError, match=r"\.npz or \.safetensors"):
        write_attention(maps, tmp_path / "att.pt")


def test_the_terminal_top_tokens_of_attention_skip_punctuation_and_symbols() -> None:
    from rich.console import Console

    from faithlab.explain.explanation import Explanation
    from faithlab.report.terminal import top_tokens_table

    e = Explanation("profit , `rose`", None, ["[CLS]", "profit", ",", "`", "rose", "`", "[SEP]"],
                    np.array([9, 1, 8, 7, 2, 6, 9.0]), [None, 0, 1, 2, 3, 4, None],
                    [(0, 0, 6), (0, 7, 8), (0, 9, 10), (0, 10, 14), (0, 14, 15)], 0, "a", "attention_sum", {},
                    [1.0], ["a"], "m", 0.0, output="attention", replacement="none")
    console = Console(width=200, record=True)
    console.print(top_tokens_table([e], k=3))
    text = console.export_text()
    assert "rose (+2), profit (+1)" in text
    assert not any(f"(+{score})" in text for score in (6, 7, 8, 9))  # the backticks, the comma, the specials
