"""Explainers: one uniform interface, many methods.

Importing this package registers every method; `get_explainer(name, classifier, **settings)` builds one by name.
"""

from faithlab.explain import (  # noqa: F401  (imported to register the methods)
    attention,
    baselines,
    gradients,
    integrated_gradients,
    kernel_shap,
    lime,
    lrp,
    occlusion,
)
from faithlab.explain.base import EXPLAINERS, Attributions, Explainer, explain_many, get_explainer, register
from faithlab.explain.explanation import Explanation

__all__ = ["EXPLAINERS", "Attributions", "Explainer", "Explanation", "explain_many", "get_explainer", "register"]
