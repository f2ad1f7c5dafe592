"""Devices and dtypes: names resolved once with clear errors, the GPU token budget, and low-precision loading."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig

from faithlab.errors import FaithlabError
from faithlab.models import load_classifier
from faithlab.models.devices import (
    CPU_BATCH_TOKENS,
    GPU_BATCH_TOKENS_LIMITS,
    batch_tokens_for,
    budget_from_free_memory,
    resolve_device,
    resolve_dtype,
)

NO_GPU = not torch.cuda.is_available() and not (torch.backends.mps.is_available())


@pytest.mark.skipif(not NO_GPU, reason="auto picks the GPU where there is one")
def test_auto_is_the_cpu_without_a_gpu() -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_missing_cuda_is_one_clear_error(name: str) -> None:
    with pytest.raises(FaithlabError, match=rf"device '{name}' is not available: this machine has no CUDA device"):
        resolve_device(name)


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "cpu:0", "mps:1", ""])
def test_unknown_device_names_the_choices(name: str) -> None:
    with pytest.raises(FaithlabError, match=r"unknown device .*; choose one of auto, cpu, cuda, cuda:N, mps"):
        resolve_device(name)


def test_dtypes_by_name() -> None:
    assert resolve_dtype("bfloat16") is torch.bfloat16 and resolve_dtype(torch.float16) is torch.float16
    with pytest.raises(FaithlabError, match="unknown dtype 'bf16'; choose one of float32, bfloat16, float16"):
        resolve_dtype("bf16")


def test_gpu_budget_from_free_memory_by_hand() -> None:
    config = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2)
    # a backward keeps 4 bytes x 2 layers x (12 x 64 + 2 x 2 heads x 128 positions) = 10240 bytes per token;
    # half of 1 GiB holds 52428 such tokens, and the forward budget is twice the backward one
    assert budget_from_free_memory(2**30, config, torch.float32, 128) == 2 * 52428
    assert budget_from_free_memory(2**30, config, torch.bfloat16, 128) == 2 * 104857  # half the bytes
    assert budget_from_free_memory(0, config, torch.float32, 128) == GPU_BATCH_TOKENS_LIMITS[0]
    assert budget_from_free_memory(2**50, config, torch.float32, 128) == GPU_BATCH_TOKENS_LIMITS[1]


def test_the_cpu_keeps_its_budget() -> None:
    assert batch_tokens_for(torch.device("cpu"), BertConfig(), torch.float32, 512) == CPU_BATCH_TOKENS


def test_load_on_the_cpu_by_default_with_the_cpu_budget(tiny_folders) -> None:
    classifier = load_classifier(tiny_folders["bert"], device="cpu")
    assert classifier.device == torch.device("cpu") and classifier.dtype is torch.float32
    assert classifier.max_batch_tokens == CPU_BATCH_TOKENS
    assert load_classifier(tiny_folders["bert"], max_batch_tokens=77).max_batch_tokens == 77


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_fails_before_loading(tmp_path) -> None:
    # the folder does not exist: the device error comes first, so nothing is read
    with pytest.raises(FaithlabError, match="device 'cuda:0' is not available"):
        load_classifier(tmp_path / "missing", device="cuda:0")


def test_bfloat16_model_gives_float32_logits_and_its_own_fingerprint(tiny_folders) -> None:
    full = load_classifier(tiny_folders["bert"], device="cpu")
    low = load_classifier(tiny_folders["bert"], device="cpu", dtype="bfloat16")
    assert low.dtype is torch.bfloat16 and all(p.dtype is torch.bfloat16 for p in low.model.parameters())
    batch = low.encode(["a fine film", "a dull one"])
    logits = low.batch_logits(batch)
    assert logits.dtype is torch.float32
    reference = full.batch_logits(full.encode(["a fine film", "a dull one"]))
    assert torch.allclose(logits, reference, atol=0.05) and not torch.equal(logits, reference)
    assert low.fingerprint != full.fingerprint  # what is explained differs, and the record says so


def test_the_api_takes_device_and_dtype(tiny_folders) -> None:
    import faithlab as fl

    model = fl.load(tiny_folders["bert"], device="cpu", dtype="float16")
    assert model.device == torch.device("cpu") and model.dtype is torch.float16


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_device_and_dtype_errors_are_one_line(tiny_folders) -> None:
    from typer.testing import CliRunner

    from faithlab.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["explain", "--model", str(tiny_folders["bert"]), "--device", "cuda:7", "a film"])
    assert missing.exit_code == 2 and "error: device 'cuda:7' is not available" in missing.output
    refused = runner.invoke(app, ["explain", "--model", str(tiny_folders["bert"]), "--dtype", "bfloat16",
                                  "--methods", "occlusion,ig", "a fine film"])
    assert refused.exit_code == 2 and "error: method 'ig' refuses a bfloat16 model" in refused.output
    accepted = runner.invoke(app, ["explain", "--model", str(tiny_folders["bert"]), "--device", "cpu", "--dtype",
                                   "bfloat16", "--methods", "occlusion", "a fine film"])
    assert accepted.exit_code == 0, accepted.output


def test_bench_and_train_configs_check_the_device_name() -> None:
    from faithlab.bench.config import parse_config
    from faithlab.train.config import TrainConfig

    with pytest.raises(FaithlabError, match="unknown device 'gpu'"):
        TrainConfig.from_dict({"device": "gpu"})
    raw = {"models": [{"name": "m", "path": "minilm"}], "datasets": [{"name": "d", "kind": "planted",
                                                                         "path": "builtin"}]}
    with pytest.raises(FaithlabError, match="unknown device 'gpu'"):
        parse_config(raw | {"device": "gpu"})
    with pytest.raises(FaithlabError, match="dtype"):
        parse_config(raw | {"dtype": "int8"})
    assert parse_config(raw | {"device": "cpu", "dtype": "bfloat16"}).dtype == "bfloat16"
