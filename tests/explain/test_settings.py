"""Method settings: one schema per method, defaults and choices in one place, errors that name the setting."""

from __future__ import annotations

import pytest

from faithlab.errors import FaithlabError
from faithlab.explain import EXPLAINERS, get_explainer
from faithlab.explain.settings import DEFAULT_OUTPUT
from faithlab.models import Classifier


def test_every_method_with_an_output_choice_defaults_to_the_logit(tiny_classifiers: dict[str, Classifier]) -> None:
    with_output = [name for name, cls in EXPLAINERS.items() if "output" in cls.Settings.model_fields]
    assert {"lime", "kernel_shap", "occlusion", "ig", "gradient"} <= set(with_output)
    for name in with_output:
        assert get_explainer(name, tiny_classifiers["bert"]).settings["output"] == DEFAULT_OUTPUT == "logit"


def test_settings_hold_every_resolved_setting(tiny_classifiers: dict[str, Classifier]) -> None:
    ig = get_explainer("ig", tiny_classifiers["bert"], n_steps=8)
    assert ig.settings == {"baseline": "pad", "n_steps": 8, "method": "gauss_legendre", "target_delta": None,
                           "max_steps": 512, "output": "logit"}
    auto = get_explainer("ig", tiny_classifiers["bert"]).settings
    assert (auto["method"], auto["target_delta"]) == ("fejer", 0.01)
    assert "target_spearman" not in get_explainer("lime", tiny_classifiers["bert"], n_samples=50).settings


@pytest.mark.parametrize(
    ("method", "settings", "message"),
    [
        ("lime", {"samples": 9}, "bad settings for method 'lime': unknown setting 'samples'; valid settings: "
                                 "replacement, output, contrast, unit, target_spearman, seed, n_samples"),
        ("rollout", {"layers": 2}, "method 'rollout': unknown setting 'layers'; valid settings: none$"),
        ("lime", {"n_samples": True}, "n_samples must be an integer or 'auto', got True"),
        ("kernel_shap", {"seed": "one"}, "seed must be an integer, got 'one'"),
        ("occlusion", {"replacement": "zero"}, "unknown replacement 'zero'; choose one of mask, pad, unk, delete"),
        ("ig", {"n_steps": 8, "target_delta": 0.1}, "target_delta=0.1 needs n_steps='auto'"),
        ("lime", {"n_samples": 1}, "n_samples: 1 is too small to fit a surrogate"),
        ("kernel_shap", {"n_samples": 2}, "n_samples: 2 is too small to fit"),
    ],
)
def test_bad_settings_name_the_setting_and_what_is_valid(
    tiny_classifiers: dict[str, Classifier], method: str, settings: dict, message: str
) -> None:
    with pytest.raises(FaithlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_explainer(method, tiny_classifiers["bert"], **settings)


def test_budgets_too_small_for_the_text_are_refused_at_explain_time(tiny_classifiers: dict[str, Classifier]) -> None:
    text = "the plot is clever although the ending drags on and on"  # more features than the budgets below
    unpenalised = get_explainer("lime", tiny_classifiers["bert"], n_samples=4, alpha=0)
    with pytest.raises(FaithlabError, match=r"n_samples=4 cannot fit a text of \d+ features without the ridge"):
        unpenalised.explain([text])
    get_explainer("lime", tiny_classifiers["bert"], n_samples=4).explain([text])  # the ridge penalty solves it
    with pytest.raises(FaithlabError, match=r"kernel_shap: n_samples=5 cannot fit a text of \d+ features"):
        get_explainer("kernel_shap", tiny_classifiers["bert"], n_samples=5).explain([text])
