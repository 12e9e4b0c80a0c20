"""On whatever accelerator is present: Table VI, Table XII, LMAM's TFLOP/s and DHCN's epoch.

One script of at most about 8 minutes (``--budget`` seconds; a part that would start
after the budget is skipped and listed as such), for a lent GPU:

1. the device's matrix peak, measured: a large float32 (TF32 allowed, as the
   models run) and bfloat16 matrix product;
2. Table VI: every backbone without and with LMAM (``early_residual``, rank 45),
   seconds per training epoch (the engine's own ``train_epoch``: forward, backward,
   Adam) on IEMOCAP- and MELD-shaped data: the real training dialogue lengths
   (``bench/data/lengths.json``), random features of the classic widths (IEMOCAP
   text/audio/visual 100/100/512, MELD 600/300/342), batch 32, both batchings;
3. Table XII: EmoCaps with LMAM against self-attention in its fusion slot;
4. LMAM's achieved TFLOP/s: forward and backward of the fusion alone at the
   benchmark's shapes (the first 32 IEMOCAP training dialogues' lengths, 1,549
   utterances, the longest 94; the IEMOCAP widths), on the features and with gradients
   of its inputs, its FLOPs counted by ``torch.utils.flop_counter``, against the
   measured peak;
5. DHCN and DHCN* seconds per Diginetica epoch (extrapolated from timed batches),
   when the data is at ``--diginetica`` (default ``../shared/data/diginetica``).

On a CPU it runs too (``--quick`` for a smoke test). Writes ``bench/results/gpu.json``
(and ``$OUT/gpu.json`` when ``OUT`` is set).

    python -m bench.gpu [--quick] [--budget 420] [--diginetica DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from bench.common import environment, print_table, random_dataset, write_json
from lmam.data import ConversationDataset, register_dataset
from lmam.experiments.reproduce.variants import base, star
from lmam.models import list_models
from lmam.train import TrainConfig, Trainer
from lmam.train.precision import autocast

HERE = Path(__file__).resolve().parent
LENGTHS = json.loads((HERE / "data" / "lengths.json").read_text())
WIDTHS = {
    "iemocap": {"text": 100, "audio": 100, "visual": 512},
    "meld": {"text": 600, "audio": 300, "visual": 342},
}
CLASSES = {"iemocap": 6, "meld": 7}
DIGINETICA = HERE.parents[1] / "shared" / "data" / "diginetica"


def shaped(name: str, limit: int | None) -> ConversationDataset:
    lengths = LENGTHS[name][:limit] if limit else LENGTHS[name]
    labels = [f"c{i}" for i in range(CLASSES[name])]
    return random_dataset(f"bench-{name}-shaped", lengths, WIDTHS[name], labels, test=False)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` calls after one warm-up."""
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int) -> float:
    """TFLOP/s of an ``n x n`` matrix product."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = timed(lambda: a @ b, device, 10)
    return 2 * n**3 / seconds / 1e12


def epoch_seconds(config: TrainConfig, device: torch.device, epochs: int) -> float:
    folder = tempfile.mkdtemp(prefix="lmam-gpu-")
    try:
        trainer = Trainer(replace(config, out_dir=folder, name="t"), quiet=True, use_test=False)
        epoch = iter(range(1, 1000))
        return timed(lambda: trainer.train_epoch(next(epoch), trainer.forward), device, epochs)
    finally:
        shutil.rmtree(folder)


def table6(device: torch.device, args: argparse.Namespace, left: Callable[[], float]) -> list:
    rows = []
    for name in ("iemocap", "meld"):
        for backbone in args.models.split(","):
            for batching in ("random", "bucketed"):
                if left() <= 0:
                    rows.append({"dataset": name, "backbone": backbone, "skipped": "budget"})
                    continue
                common: dict[str, Any] = dict(
                    dataset=f"bench-{name}-shaped",
                    batch_size=32,
                    batching=batching,
                    device=str(device),
                    threads=1,
                    epochs=100,
                    normalize="none",
                )
                without = epoch_seconds(
                    TrainConfig(**common, **base(backbone)), device, args.epochs
                )
                with_lmam = epoch_seconds(
                    TrainConfig(**common, **star(backbone), fusion_options={"rank": 45}),
                    device,
                    args.epochs,
                )
                rows.append(
                    {
                        "dataset": name,
                        "backbone": backbone,
                        "batching": batching,
                        "seconds_without": without,
                        "seconds_with_lmam": with_lmam,
                        "ratio": with_lmam / without,
                    }
                )
                print(rows[-1], flush=True)
    return rows


def table12(device: torch.device, args: argparse.Namespace) -> dict[str, float]:
    out = {}
    for slot in ("lmam", "self_attention"):
        config = TrainConfig(
            dataset="bench-iemocap-shaped",
            backbone="emocaps",
            fusion="none",
            model_options={"slot_fusion": slot},
            batch_size=32,
            device=str(device),
            threads=1,
            epochs=100,
            normalize="none",
        )
        out[slot] = epoch_seconds(config, device, args.epochs)
    out["ratio"] = out["lmam"] / out["self_attention"]
    return out


def lmam_flops(device: torch.device, peaks: dict[str, float]) -> dict[str, dict[str, float]]:
    """LMAM's achieved rate, twice: on the features (``features``: no gradient reaches
    them, as at ``early`` and ``early_residual``, where LMAM reads the data) and with
    gradients of its inputs (``input_grads``: as after a backbone, at ``late``)."""
    from torch.utils.flop_counter import FlopCounterMode

    from lmam import create_fusion

    g = torch.Generator().manual_seed(0)
    lengths = LENGTHS["iemocap"][:32]
    t = max(lengths)
    data = {m: torch.randn(32, t, w, generator=g).to(device) for m, w in WIDTHS["iemocap"].items()}
    mask = (torch.arange(t)[None] < torch.tensor(lengths)[:, None]).to(device)
    fusion = create_fusion("lmam", in_dims=WIDTHS["iemocap"], out_dim=100, rank=45).to(device)
    out = {}
    for label, grads in (("features", False), ("input_grads", True)):
        feats = {m: x.detach().requires_grad_(grads) for m, x in data.items()}

        def step(precision: str = "32", feats: dict[str, torch.Tensor] = feats) -> None:
            with autocast(precision, device):
                y = fusion(feats, mask)
            y.float().sum().backward()

        with FlopCounterMode(display=False) as counter:
            step()
        flops = counter.get_total_flops()
        seconds = timed(step, device, 20)
        seconds_bf16 = timed(functools.partial(step, "bf16"), device, 20)
        out[label] = {
            "flops": float(flops),
            "seconds": seconds,
            "tflops": flops / seconds / 1e12,
            "share_of_fp32_peak": flops / seconds / 1e12 / peaks["fp32_tflops"],
            "seconds_bf16_autocast": seconds_bf16,
            "tflops_bf16_autocast": flops / seconds_bf16 / 1e12,
            "share_of_bf16_peak": flops / seconds_bf16 / 1e12 / peaks["bf16_tflops"],
        }
    return out


def dhcn(device: torch.device, args: argparse.Namespace) -> dict[str, Any]:
    from lmam.tasks.session.train import SessionConfig, time_batches

    if not Path(args.diginetica).is_dir():
        return {"skipped": f"no data at {args.diginetica}"}
    out: dict[str, Any] = {}
    for label, lmam in (("DHCN", False), ("DHCN*", True)):
        config = SessionConfig(data_dir=str(args.diginetica), lmam=lmam, device=str(device))
        out[label] = time_batches(config, 5 if args.quick else 30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: small data, 1 epoch")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for Table VI")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per model")
    parser.add_argument("--models", default=",".join(list_models()))
    parser.add_argument("--diginetica", default=str(DIGINETICA))
    parser.add_argument("--out", default="gpu")
    parser.add_argument(
        "--parts", default="lmam,dhcn,table12,table6", help="which parts (the peak always)"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if args.quick:
        args.epochs = 1
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(1)  # as lmam trains on a CPU
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    start = time.perf_counter()
    for name in ("iemocap", "meld"):
        register_dataset(f"bench-{name}-shaped", "real lengths, random features")(
            lambda path=None, name=name: shaped(name, 24 if args.quick else None)
        )
    n = 8192 if device.type == "cuda" else 1024
    peaks = {
        "fp32_tflops": matmul_peak(device, torch.float32, n),
        "bf16_tflops": matmul_peak(device, torch.bfloat16, n),
    }
    print("peaks", peaks, flush=True)
    flops = lmam_flops(device, peaks) if "lmam" in parts else {}
    print("lmam", flops, flush=True)
    sessions = dhcn(device, args) if "dhcn" in parts else {}
    print("dhcn", sessions, flush=True)
    slot = table12(device, args) if "table12" in parts and not args.quick else {}
    print("table12", slot, flush=True)
    left = lambda: args.budget - (time.perf_counter() - start)  # noqa: E731
    rows = table6(device, args, left) if "table6" in parts else []
    done = [r for r in rows if "ratio" in r]
    print_table(
        f"Table VI on {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}",
        ["dataset", "backbone", "batching", "s/epoch", "s/epoch + LMAM", "ratio"],
        [
            [
                r["dataset"],
                r["backbone"],
                r["batching"],
                r["seconds_without"],
                r["seconds_with_lmam"],
                f"{r['ratio']:.2f}",
            ]
            for r in done
        ],
    )
    payload = {
        "environment": environment(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "quick": args.quick,
        "peaks": peaks,
        "lmam": flops,
        "table6": rows,
        "table12": slot,
        "dhcn": sessions,
        "seconds": time.perf_counter() - start,
    }
    path = write_json(args.out, payload)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu.json").write_text(json.dumps(payload, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
