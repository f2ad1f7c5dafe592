"""Explanation views on hand-made explanations: word merging, colour scales, special tokens, escaping, bars."""

from __future__ import annotations

import numpy as np
import pytest

from faithlab.errors import FaithlabError
from faithlab.explain.explanation import Explanation
from faithlab.report.explanation_views import explanation_bars, explanation_grid, grid_html


def _explanation(method: str, scores: list[float], text: str = "unhappy cats") -> Explanation:
    # [CLS] un ##happy cats [SEP]: word 0 = 'unhappy' (two pieces), word 1 = 'cats'
    return Explanation(
        text=text, pair=None, tokens=["[CLS]", "un", "##happy", "cats", "[SEP]"], scores=np.array(scores),
        word_ids=[None, 0, 0, 1, None], words=[(0, 0, 7), (0, 8, 12)], target=1, target_name="pos",
        method=method, settings={}, probabilities=[0.2, 0.8], labels=["neg", "pos"], model="m", seconds=0.1,
        output="logit", replacement="none",
    )


@pytest.mark.parametrize(("how", "expected"), [("sum", [-1.0, 0.5]), ("mean", [-0.5, 0.5]), ("absmax", [-3.0, 0.5])])
def test_word_level_merges_pieces_as_stated(how: str, expected: list[float]) -> None:
    grid = explanation_grid([_explanation("a", [9.0, 2.0, -3.0, 0.5, 7.0])], level="word", aggregation=how)
    units = grid.rows[0].units
    assert [u.text for u in units] == ["unhappy", "cats"]
    assert [u.score for u in units] == pytest.approx(expected)
    assert how in grid.legend and "hidden" in grid.legend


def test_specials_shown_keep_their_score_and_enter_the_scale() -> None:
    grid = explanation_grid([_explanation("lrp", [9.0, 2.0, -3.0, 0.5, 7.0])], level="word", show_special=True)
    units = grid.rows[0].units
    assert (units[0].text, units[0].special) == ("[CLS]", True)
    assert units[0].score == 9.0 and units[0].scaled == 1.0
    assert "shown" in grid.legend


def test_row_and_shared_scales() -> None:
    rows = [_explanation("a", [0, 1.0, -2.0, 0.5, 0]), _explanation("b", [0, 4.0, 0.0, -1.0, 0])]
    own = explanation_grid(rows, scale="row")
    assert [u.scaled for u in own.rows[0].units] == pytest.approx([0.5, -1.0, 0.25])
    assert [u.scaled for u in own.rows[1].units] == pytest.approx([1.0, 0.0, -0.25])
    shared = explanation_grid(rows, scale="shared")
    assert [u.scaled for u in shared.rows[0].units] == pytest.approx([0.25, -0.5, 0.125])
    assert shared.rows[0].scale == shared.rows[1].scale == 4.0
    assert "shared" in shared.legend


def test_html_escapes_text_states_conventions_and_exact_values() -> None:
    e = _explanation("ig", [0, 0.123456789, -2.0, 0.5, 0], text="<script>x")
    e.words = [(0, 0, 8), (0, 8, 9)]
    html = str(grid_html(explanation_grid([e], level="word")))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'title="-1.87654"' in html  # exact merged value on hover
    assert "explains: logit" in html and "removal: none" in html


def test_mixed_texts_and_bad_choices_are_refused() -> None:
    with pytest.raises(FaithlabError, match="different texts"):
        explanation_grid([_explanation("a", [0] * 5), _explanation("b", [0] * 5, text="other words")])
    with pytest.raises(FaithlabError, match="choose one of sum, mean, absmax"):
        explanation_grid([_explanation("a", [0] * 5)], level="word", aggregation="max")


def test_bars_draw_one_panel_per_method_with_the_scores() -> None:
    fig = explanation_bars(explanation_grid([_explanation("a", [0, 1, -2, 0.5, 0]), _explanation("b", [0] * 5)]))
    axes = fig.get_axes()
    assert len(axes) == 2
    assert [p.get_height() for p in axes[0].patches] == pytest.approx([1, -2, 0.5])
    assert "explains: logit" in axes[0].get_title()
