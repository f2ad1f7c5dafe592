"""The explanation views state how a long text was read (its windows and the combination rule) and show a grouped
explanation per group."""

from __future__ import annotations

import pytest
from markupsafe import escape

import faithlab as fl
from faithlab.models import Classifier
from faithlab.models.windows import COMBINATION_RULE
from faithlab.report import explanation_grid, grid_html
from faithlab.report.explanation_views import text_payload
from faithlab.report.html import render_html

LONG = ("the movie was great and fun to watch . a dull , boring film that is not good . i loved every minute of it ! "
        "terrible acting but great music . it is fine , nothing special")


@pytest.fixture
def short_limit(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    base = tiny_classifiers["bert"]
    return Classifier(base.model, base.tokenizer, base.name, max_length=16)


def test_a_long_text_grid_states_its_windows_and_rule_and_a_short_one_does_not(short_limit: Classifier) -> None:
    long = fl.explain(short_limit, LONG, ["grad_x_input", "occlusion"])
    windows = long["grad_x_input"][0].windows
    assert len(windows) >= 3
    html = str(grid_html(explanation_grid(long["grad_x_input"] + long["occlusion"])))
    stride = windows[1][0] - windows[0][0]
    assert f"read in {len(windows)} windows of 14 tokens, stride {stride}" in html
    assert str(escape(COMBINATION_RULE)) in html
    short = fl.explain(short_limit, "a warm film", ["grad_x_input", "occlusion"])
    short_html = str(grid_html(explanation_grid(short["grad_x_input"] + short["occlusion"])))
    assert "windows" not in short_html and "mean_output" not in short_html


def test_the_html_report_and_the_run_report_payload_state_the_windows(short_limit: Classifier) -> None:
    long = fl.explain(short_limit, [LONG, "a warm film"], "grad_x_input")["grad_x_input"]
    note = f"read in {len(long[0].windows)} windows"
    assert note in render_html(long)
    assert render_html(long).count(note) == 1  # the short text states none
    assert note in text_payload([long[0]])["rows"][0]["conventions"]
    assert "windows" not in text_payload([long[1]])["rows"][0]["conventions"]


def test_a_grouped_explanation_is_shown_per_group(tiny_classifiers: dict[str, Classifier]) -> None:
    text = "unwatchable tedium throughout the film was good"
    result = fl.explain(tiny_classifiers["bert"], text, ["occlusion", "grad_x_input"], groups=[[(0, 18), (34, 47)]])
    grid = explanation_grid([result["occlusion"][0], result["grad_x_input"][0]], level="feature")
    occlusion, gradient = grid.rows
    texts = [u.text for u in occlusion.units]
    assert texts[0] == "unwatchable tedium" and texts[-1] == "film was good"
    assert [u.score for u in occlusion.units] == pytest.approx(result["occlusion"][0].feature_scores().tolist())
    assert "features: user groups; a token outside every group is a feature of its own" in occlusion.conventions
    # a method that scores tokens shows its tokens at this level
    assert len(gradient.units) == len(result["grad_x_input"][0].content)
