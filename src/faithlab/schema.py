"""What every configuration schema shares: YAML in, `key=value` settings, and validation errors out as one line.

Method settings, train configs and bench configs are pydantic models (`Schema`); this module reads their YAML
(parse errors name the file or setting with line and column), parses `--set key=value`, and turns a pydantic
`ValidationError` into one `FaithlabError` naming the setting's path, the bad value and the valid choices.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from faithlab.errors import FaithlabError


class Schema(BaseModel):
    """Base of every configuration schema: unknown keys are errors and values are not coerced (YAML types them)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


SchemaT = TypeVar("SchemaT", bound=BaseModel)

# bounds shared by the schemas: each written once
AtLeastOne = Annotated[int, Field(ge=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
OpenFraction = Annotated[float, Field(gt=0, lt=1)]  # strictly between 0 and 1
Ratio = Annotated[float, Field(ge=0, lt=1)]  # 0 up to (not including) 1
UnitFraction = Annotated[float, Field(gt=0, le=1)]  # above 0, up to 1


class _Loader(yaml.SafeLoader):
    """YAML with YAML 1.2 floats: `2e-5` and `1e3` are numbers (YAML 1.1 reads them as text)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def load_yaml(text: str, where: str) -> Any:
    """Parse YAML text; a syntax error becomes one line naming `where` and the line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FaithlabError(f"{where}: invalid YAML{at}: {' '.join(str(problem).split())}") from exc


def read_yaml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """A YAML file holding a mapping of settings (an empty file is an empty mapping)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FaithlabError(f"cannot read {what} '{path}': {exc.strerror or exc}") from exc
    values = load_yaml(text, f"{what} '{path}'") or {}
    if not isinstance(values, dict):
        raise FaithlabError(f"{what} '{path}' must hold a mapping of settings, got {type(values).__name__}")
    return values


def parse_assignments(items: list[str], example: str = "data.limit=500") -> dict[str, Any]:
    """`key=value` strings into a dict; values are YAML (0.1, 2e-5, null, true, [1, 2], cls), keys may be dotted."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise FaithlabError(f"write a setting as key=value (e.g. {example}), got {item!r}")
        out[key.strip()] = load_yaml(raw, f"setting '{key.strip()}'") if raw.strip() else None
    return out


def validate(schema: type[SchemaT], values: Any, where: str = "", context: dict[str, Any] | None = None) -> SchemaT:
    """`values` checked against `schema` (validators see `context`); any problem becomes one `FaithlabError`
    prefixed by `where`."""
    try:
        return schema.model_validate(values, context=context)
    except ValidationError as exc:
        raise FaithlabError(f"{where}{describe(exc, schema)}") from exc


def describe(exc: ValidationError, schema: type[BaseModel]) -> str:
    """One line for all the errors of a validation: each names its setting's path, the value and what is valid."""
    problems: dict[str, list[ErrorDetails]] = {}
    annotations: dict[str, Any] = {}
    for error in exc.errors():
        path, annotations[path] = _walk(schema, error["loc"])
        problems.setdefault(path, []).append(error)
    return "; ".join(_problem(schema, path, errors, annotations[path]) for path, errors in problems.items())


def _problem(schema: type[BaseModel], path: str, errors: list[ErrorDetails], annotation: Any) -> str:
    first = errors[0]
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        parent_path, parent = _walk(schema, first["loc"][:-1])
        model = _model(_container(parent))
        scope = f" of {parent_path}" if parent_path else ""
        known = ", ".join(model.model_fields if model else []) or "none"
        return f"unknown setting '{path}'; valid settings{scope}: {known}"
    if first["type"] == "missing":
        return f"{path}: missing (required)"
    if first["type"] in ("value_error", "assertion_error"):
        message = str(first.get("ctx", {}).get("error", first["msg"]))
        return f"{path}: {message}" if path else message
    number = "an integer" if _integer(annotation) else "a number"
    expected = [_expected(e, number) for e in errors]
    if all(e["type"] == "literal_error" for e in errors):
        return f"unknown {path} {value!r}; choose one of {', '.join(_choices(errors))}"
    return f"{path} must be {' or '.join(dict.fromkeys(expected))}, got {value!r}"


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "bool_type": "true or false", "bool_parsing": "true or false", "string_type": "a string",
    "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "none_required": "null",
}  # fmt: skip
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def _expected(error: ErrorDetails, number: str) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in _BOUNDS:
        (bound,) = (v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le"))
        return f"{number} {_BOUNDS[kind]} {bound}"
    if kind == "literal_error":
        return " or ".join(repr(c) for c in _choices([error]))
    if kind == "too_short":
        return "a non-empty list" if ctx["min_length"] == 1 else f"a list of at least {ctx['min_length']} items"
    return _EXPECTED.get(kind, error["msg"].removeprefix("Input should be ").removeprefix("Value error, "))


def _choices(errors: list[ErrorDetails]) -> list[str]:
    """The literal choices named in pydantic's `expected` context ("'a', 'b' or 'c'"), in order."""
    return [c for e in errors for c in re.findall(r"'([^']*)'", str(e.get("ctx", {}).get("expected", "")))]


def _walk(schema: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, Any]:
    """The user-facing path of an error location (`models[0].zoo.family`) and the annotation found there.

    pydantic adds a step naming the member type for each union it tried (`int`, `literal['auto']`); only steps
    that are a field of the model, a list index or a mapping key reach the path.
    """
    path, node = "", schema
    for step in loc:
        node = _container(node)
        model, origin = _model(node), typing.get_origin(node)
        if isinstance(step, int) and origin is list:
            path, node = f"{path}[{step}]", typing.get_args(node)[0]
        elif model is not None and step in model.model_fields:
            path, node = f"{path}.{step}" if path else str(step), model.model_fields[step].annotation
        elif origin is dict:
            path, node = f"{path}.{step}" if path else str(step), typing.get_args(node)[1]
        elif model is not None and isinstance(step, str):
            path, node = f"{path}.{step}" if path else step, None  # an unknown key (extra="forbid")
    return path, node


def _integer(annotation: Any) -> bool:
    """Whether a setting takes integers (and not floats): bounds then read "an integer >= 1"."""
    kinds = {typing.get_args(m)[0] if typing.get_origin(m) is typing.Annotated else m for m in _members(annotation)}
    return int in kinds and float not in kinds


def _container(node: Any) -> Any:
    """Through `X | None` and other unions to the member that is a model, a list or a mapping."""
    if typing.get_origin(node) in (typing.Union, types.UnionType):
        for member in typing.get_args(node):
            if _model(member) is not None or typing.get_origin(member) in (list, dict):
                return member
    return node


def _model(node: Any) -> type[BaseModel] | None:
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def describe_fields(schema: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """(name, type, default, choices) of each setting of a schema, for help texts."""
    rows = []
    for name, info in schema.model_fields.items():
        choices = _literals(info.annotation)
        kinds = [_type_name(a) for a in _members(info.annotation) if typing.get_origin(a) is not Literal]
        default = "required" if info.is_required() else repr(info.get_default(call_default_factory=True))
        rows.append((name, " or ".join(kinds) or "choice", default, ", ".join(map(str, choices))))
    return rows


def _members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _literals(annotation: Any) -> list[Any]:
    return [v for m in _members(annotation) if typing.get_origin(m) is Literal for v in typing.get_args(m)]


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
