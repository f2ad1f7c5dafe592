"""faithlab on a GPU against Captum, shap, lime and ferret: bench_explain.py's equal-settings and data-set sections
with every model on `--device`.

The sections, references, settings and timing rules are bench_explain.py's own (imported, not copied); the model,
its inputs and every reference's forward run on the chosen device, and the raw bounds wait for the device before a
timing ends. Reference libraries that are not installed lose their column (the table's note says which). Results
go to benchmarks/RESULTS-gpu.md with the card's name; on the CPU (a smoke run of the script) they are only printed
unless --out is given.

    python benchmarks/bench_gpu.py --device cuda --sentences 50 --heavy-sentences 5 --ref-sentences 3 \
        --ferret-sentences 3                                          # the GPU run (bench venv, see README.md)
    python benchmarks/bench_gpu.py --device cpu --sentences 2         # smoke run of the script on the CPU
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import bench_explain as bx
import torch

from faithlab.models.devices import resolve_device

REFERENCES = ("captum", "lime", "shap", "ferret")


def device_line(device: torch.device) -> str:
    """The accelerator the figures were taken on, for the results file."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"- device: {props.name} ({props.total_memory / 2**30:.0f} GiB), CUDA {torch.version.cuda}"
    return f"- device: {device} (no GPU: a smoke run, not GPU figures)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, mps, cpu or auto (default cuda)")
    parser.add_argument("--sentences", type=int, default=50, help="sentences for the cheap methods and the data set")
    parser.add_argument("--heavy-sentences", type=int, default=5, help="sentences for faithlab's ig, lime, kernel_shap")
    parser.add_argument("--ref-sentences", type=int, default=3, help="sentences for the reference-library loops")
    parser.add_argument("--ref-repeats", type=int, default=3)
    parser.add_argument("--ferret-sentences", type=int, default=3)
    parser.add_argument("--no-ferret", action="store_true")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--out", type=Path, default=None, help="default: RESULTS-gpu.md on a GPU, print only on CPU")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    out = args.out or (bx.HERE / "RESULTS-gpu.md" if device.type != "cpu" else None)
    heavy, refs = min(args.heavy_sentences, args.sentences), min(args.ref_sentences, args.sentences)
    torch.manual_seed(0)
    started = time.perf_counter()
    command = "python benchmarks/bench_gpu.py " + " ".join(sys.argv[1:] if argv is None else argv)
    env_lines = [*bx.environment(torch.get_num_threads()), device_line(device)]

    clf = bx.load_bench_model(args.model, device=str(device))
    texts, source = bx.load_sentences(args.sentences)
    cases = [bx.make_case(clf, t) for t in texts]
    bench, ferret_error = (None, "--no-ferret") if args.no_ferret else bx.ferret_benchmark(clf)
    report = bx.Report()
    missing = [p for p in REFERENCES if not bx.installed(p)]
    report.text(f"Model {bx.describe_model(args.model, clf)} on {device}; {len(texts)} sentences from {source}; "
                f"max_batch_tokens {clf.max_batch_tokens}."
                + (f" Not installed (their columns are left out): {', '.join(missing)}." if missing else "")
                + (f" ferret unavailable: {ferret_error}." if ferret_error else ""))

    def save(finished: bool = False) -> None:
        if out is not None:
            bx.write_results(out, command, time.perf_counter() - started, env_lines, report, finished)

    bx.equal_settings(clf, cases, heavy, refs, args.ref_repeats, bench, report)
    save()
    bx.dataset(clf, texts, args.ferret_sentences, bench, ferret_error, report)
    save(finished=True)
    print(f"\n{'wrote ' + str(out) if out else 'printed only (CPU)'} in {(time.perf_counter() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
