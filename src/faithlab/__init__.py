"""faithlab: explain transformer text classifiers and measure how far each explanation can be trusted.

    import faithlab as fl
    model = fl.load("path/to/model")
    result = fl.explain(model, "a warm and funny film", methods=["ig", "lime"])
    table = fl.evaluate(model, result, metrics="faithfulness")
"""

from faithlab.api import ExplanationSet, evaluate, explain, load
from faithlab.errors import FaithlabError
from faithlab.explain.explanation import Explanation
from faithlab.explain.groups import FeatureGrouping
from faithlab.models.prompt import FewShotExample, PromptSpec

__version__ = "0.1.0"

__all__ = [
    "Explanation", "ExplanationSet", "FaithlabError", "FeatureGrouping", "FewShotExample", "PromptSpec", "__version__",
    "evaluate", "explain", "load",
]
