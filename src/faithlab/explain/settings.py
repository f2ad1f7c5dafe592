"""Method settings: one schema per explainer, the one place for each default and each set of choices.

Each explainer names its schema as `Settings`; `Explainer.__init__` validates the keyword settings through it, so
Python, YAML (bench configs) and `--set` share the same checks and messages. Checks that need the model (does it
have a mask token? is `contrast` one of its labels?) stay in the explainer's `__init__`; checks that need the text
(a budget against the text's feature count) run at explain time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from faithlab.schema import NonNegative, OpenFraction, Positive, Schema

Replacement = Literal["mask", "pad", "unk", "delete"]  # how a removed token is replaced (or deleted)
Output = Literal["logit", "probability", "margin", "loss"]  # the quantity a removal-based method measures
GradientOutput = Literal["logit", "probability"]  # the quantity a gradient method differentiates
# occlusion alone also measures the difference of the target's and the contrast's probabilities
OcclusionOutput = Literal["logit", "probability", "margin", "probability_margin", "loss"]
# what removal-based methods remove together: a token, a tokenizer word, a whitespace-separated word ('pre-tax',
# '0.8'), a sentence or a group the user gave with the texts (faithlab.explain.features)
Unit = Literal["token", "word", "whitespace", "sentence", "group"]
Sampling = Literal["balanced", "bernoulli", "count"]
IgBaseline = Literal["pad", "mask", "unk", "zero"]
IgMethod = Literal["gauss_legendre", "riemann_trapezoid", "fejer"]
Distribution = Literal["uniform", "normal"]

REPLACEMENTS: tuple[str, ...] = get_args(Replacement)
OUTPUTS: tuple[str, ...] = get_args(Output)
OCCLUSION_OUTPUTS: tuple[str, ...] = get_args(OcclusionOutput)
GRADIENT_OUTPUTS: tuple[str, ...] = get_args(GradientOutput)
UNITS: tuple[str, ...] = get_args(Unit)
TEXT_UNITS: tuple[str, ...] = tuple(u for u in UNITS if u != "group")  # the units the text alone defines
SAMPLINGS: tuple[str, ...] = get_args(Sampling)
IG_BASELINES: tuple[str, ...] = get_args(IgBaseline)
IG_METHODS: tuple[str, ...] = get_args(IgMethod)
DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)

DEFAULT_OUTPUT = "logit"  # the project-wide default quantity of every method with a choice of output
DEFAULT_MEMBERS = ("grad_x_input", "ig", "lime", "kernel_shap", "occlusion", "lrp")
DEFAULT_TARGET_DELTA = 0.01  # IG auto mode: stop once |delta| <= this share of |f(x) - f(x')|
AUTO_START_STEPS = {"gauss_legendre": 4, "riemann_trapezoid": 5, "fejer": 15}  # IG auto mode's first level
LIME_MIN_SAMPLES = 2  # a slope and the intercept need at least two perturbed samples beside the text itself
KERNEL_SHAP_MIN_SAMPLES = 3  # the empty and the full coalition, and at least one weighted coalition to fit

Seed = Annotated[int, Field(ge=0)]


class MethodSettings(Schema):
    """Base of every method's settings; `resolved()` is what `Explainer.settings` holds."""

    def resolved(self) -> dict[str, Any]:
        """Every setting that applies, defaults included, as a plain dict."""
        return self.model_dump()


class NoSettings(MethodSettings):
    """The method takes no settings."""


class GradientSettings(MethodSettings):
    output: GradientOutput = DEFAULT_OUTPUT


class IgSettings(MethodSettings):
    """`method` None picks 'fejer' (nested levels) for n_steps='auto' and 'gauss_legendre' for a fixed count;
    `target_delta` (auto mode only) defaults to DEFAULT_TARGET_DELTA."""

    baseline: IgBaseline = "pad"
    n_steps: int | Literal["auto"] = "auto"
    method: IgMethod | None = None
    target_delta: Positive | None = None
    max_steps: int = 512
    output: GradientOutput = DEFAULT_OUTPUT

    @model_validator(mode="after")
    def _resolve(self) -> IgSettings:
        auto = self.n_steps == "auto"
        if self.method is None:
            self.method = "fejer" if auto else "gauss_legendre"
        if not auto:
            minimum = 2 if self.method == "riemann_trapezoid" else 1
            if self.n_steps < minimum:
                raise ValueError(f"n_steps must be an integer >= {minimum} or 'auto', got {self.n_steps!r}")
            if self.target_delta is not None:
                raise ValueError(f"target_delta={self.target_delta} needs n_steps='auto' (got n_steps={self.n_steps})")
        elif self.target_delta is None:
            self.target_delta = DEFAULT_TARGET_DELTA
        if self.max_steps < AUTO_START_STEPS[self.method]:
            raise ValueError(f"max_steps must be an integer >= {AUTO_START_STEPS[self.method]} for method "
                             f"'{self.method}', got {self.max_steps!r}")
        return self


class PerturbationSettings(MethodSettings):
    """How removed tokens are replaced, what output is measured and which tokens are removed together (`unit`);
    `contrast` (a label name or index) is the other class of output='margin', None the highest other class per
    row."""

    replacement: Replacement = "mask"
    output: Output = DEFAULT_OUTPUT
    contrast: int | str | None = None
    unit: Unit = "token"


class OcclusionSettings(PerturbationSettings):
    """`contrast` is also the other class of output='probability_margin'."""

    output: OcclusionOutput = DEFAULT_OUTPUT
    replacement: Replacement = "delete"


class _SampledSettings(PerturbationSettings):
    """A sample budget: a fixed count or 'auto' (grow per text until stable, up to 2n + 2048 samples)."""

    target_spearman: OpenFraction = 0.95
    seed: Seed = 0

    def resolved(self) -> dict[str, Any]:
        """target_spearman only applies to n_samples='auto'."""
        return self.model_dump(exclude=None if self.n_samples == "auto" else {"target_spearman"})


class LimeSettings(_SampledSettings):
    n_samples: int | Literal["auto"] = "auto"
    kernel_width: Positive = 0.25
    alpha: NonNegative = 1.0
    sampling: Sampling = "balanced"

    @field_validator("n_samples")
    @classmethod
    def _budget(cls, value: int | str) -> int | str:
        if value != "auto" and value < LIME_MIN_SAMPLES:
            raise ValueError(f"{value} is too small to fit a surrogate; give at least {LIME_MIN_SAMPLES} (at least "
                             "the text's feature count without the ridge penalty) or 'auto'")
        return value


class KernelShapSettings(_SampledSettings):
    """n_samples None spends shap's 'auto' budget of 2n + 2048 evaluations, all at once."""

    n_samples: int | Literal["auto"] | None = "auto"

    @field_validator("n_samples")
    @classmethod
    def _budget(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < KERNEL_SHAP_MIN_SAMPLES:
            raise ValueError(f"{value} is too small to fit: the empty and the full coalition and at least one other "
                             f"need {KERNEL_SHAP_MIN_SAMPLES}; give more, 'auto' or null")
        return value


class RandomSettings(MethodSettings):
    seed: int = 0
    distribution: Distribution = "uniform"


class EnsembleSettings(MethodSettings):
    """`methods` names the members; `member_settings` maps a member to its settings; `label` names the ensemble in
    results (it must start with 'ensemble')."""

    methods: Sequence[str] = Field(default=DEFAULT_MEMBERS, min_length=1)
    member_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    label: str | None = None

    @model_validator(mode="after")
    def _check(self) -> EnsembleSettings:
        if self.label is not None and not re.fullmatch(r"ensemble[\w-]*", self.label):
            raise ValueError(f"label must start with 'ensemble' (letters, digits, _ or -), got {self.label!r}")
        names = [m.strip().lower() for m in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"methods lists a method twice: {names}")
        if any(n.startswith("ensemble") for n in names):
            raise ValueError("an ensemble cannot contain an ensemble")
        members = {k.strip().lower(): dict(v) for k, v in self.member_settings.items()}
        strays = sorted(set(members) - set(names))
        if strays:
            raise ValueError(f"member_settings names {', '.join(strays)}, which are not among the methods {names}")
        self.methods, self.member_settings = names, members
        return self
