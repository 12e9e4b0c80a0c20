"""Table XII: EmoCaps with LMAM vs self-attention in its fusion slot, side by side.

The paper (Table XII, EmoCaps on IEMOCAP, one epoch): LMAM 17.8 s and 0.62 M
parameters, self-attention 58.7 s and 3.42 M (a time ratio of 0.30). Here:
IEMOCAP-shaped batches as in ``bench/backbones.py`` (32 dialogues of the real
train+valid lengths, widths 100/100/512, 6 classes, 1 thread), EmoCaps with its
defaults and ``slot_fusion="lmam"`` (rank 45, the paper's) or
``"self_attention"``, both with the same slot output width (LMAM's default,
the narrowest capsule part). Two settings of the fusions' common width
``dim``: each fusion's own default (LMAM: the narrowest input; self-attention:
the widest) and the same width for both (LMAM's).

Timed units (round-robin, median): the forward and backward pass of the whole
model on one batch, and of the slot fusion alone on that batch's capsule parts
(inputs requiring gradients, as inside the model). Reported: parameters and
seconds per batch of each, the LMAM / self-attention ratios, and each
fusion's share of its model's time (how close the whole-model ratio can come
to the fusion's own ratio). The goal for the fusion alone is its FLOP ratio,
about 0.33 (LMAM's low-rank query against three dense projections), or lower.

    python -m bench.emocaps_slot [--repeats 5] [--batch-size 32]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from torch import nn

from bench.backbones import CLASSES, SHARED, WIDTHS, count, iemocap_lengths, make_batch, step
from bench.common import environment, interleaved_medians, print_table, write_json
from lmam.models import create_model

SLOTS = ("lmam", "self_attention")
PAPER = {
    "lmam": {"seconds": 17.8, "params": 0.62e6},
    "self_attention": {"seconds": 58.7, "params": 3.42e6},
}
FLOP_GOAL = 0.33


def slot_step(slot: nn.Module, parts: dict[str, torch.Tensor], mask: torch.Tensor) -> None:
    slot.zero_grad(set_to_none=True)
    inputs = {m: x.detach().requires_grad_(True) for m, x in parts.items()}
    slot(inputs, mask).sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per job")
    parser.add_argument("--batch-size", type=int, default=32, help="dialogues per batch")
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is absent: this benchmark needs IEMOCAP's dialogue lengths")
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    lengths = [int(n) for n in rng.choice(iemocap_lengths(), args.batch_size, replace=False)]
    batch = make_batch(lengths, WIDTHS)
    feats, mask, _, _ = batch

    probe: Any = create_model("emocaps", in_dims=WIDTHS, num_classes=CLASSES)
    emotion_dim = probe.encoders["all"].emoformers["text"].emotion.out_features
    narrowest = min(WIDTHS.values()) + emotion_dim
    settings = {"own dim": {}, "same dim": {"dim": narrowest}}

    models: dict[str, Any] = {}
    jobs: dict[str, Any] = {}
    for setting, options in settings.items():
        for slot in SLOTS:
            key = f"{setting} | {slot}"
            torch.manual_seed(0)
            model = create_model(
                "emocaps",
                in_dims=WIDTHS,
                num_classes=CLASSES,
                slot_fusion=slot,
                slot_dim=narrowest,
                slot_options=dict(options),
            )
            enc: Any = model.encoders["all"]
            with torch.no_grad():
                parts = enc.capsules(feats, mask)
            models[key] = model
            jobs[f"{key} | model"] = lambda m=model: step(m, batch)
            jobs[f"{key} | fusion"] = lambda s=enc.slot, p=parts: slot_step(s, p, mask)
    seconds = interleaved_medians(jobs, dict.fromkeys(jobs, args.repeats))

    results: dict[str, Any] = {}
    rows = []
    for setting in settings:
        r: dict[str, Any] = {}
        for slot in SLOTS:
            key = f"{setting} | {slot}"
            model = models[key]
            slot_module = model.encoders["all"].slot
            r[slot] = {
                "dim": int(slot_module.dim),
                "model_params": count(model),
                "fusion_params": count(slot_module),
                "model_seconds": seconds[f"{key} | model"],
                "fusion_seconds": seconds[f"{key} | fusion"],
            }
            r[slot]["fusion_share"] = r[slot]["fusion_seconds"] / r[slot]["model_seconds"]
            rows.append(
                [
                    key,
                    r[slot]["dim"],
                    r[slot]["model_params"],
                    r[slot]["fusion_params"],
                    r[slot]["model_seconds"],
                    r[slot]["fusion_seconds"],
                    r[slot]["fusion_share"],
                ]
            )
        lm, sa = r["lmam"], r["self_attention"]
        r["ratios"] = {
            "model_seconds": lm["model_seconds"] / sa["model_seconds"],
            "fusion_seconds": lm["fusion_seconds"] / sa["fusion_seconds"],
            "model_params": lm["model_params"] / sa["model_params"],
            "fusion_params": lm["fusion_params"] / sa["fusion_params"],
        }
        r["ratios"]["fusion_goal_met"] = r["ratios"]["fusion_seconds"] <= FLOP_GOAL
        rows.append(
            [
                f"{setting} | lmam / self_attention",
                "",
                r["ratios"]["model_params"],
                r["ratios"]["fusion_params"],
                r["ratios"]["model_seconds"],
                r["ratios"]["fusion_seconds"],
                "",
            ]
        )
        results[setting] = r
    print_table(
        f"EmoCaps fusion slot, forward+backward of one batch ({args.batch_size} IEMOCAP-length "
        f"dialogues, {sum(lengths)} utterances), 1 thread, median of {args.repeats}",
        ["setting | slot", "dim", "model params", "fusion params", "model s", "fusion s", "share"],
        rows,
    )
    print(
        "paper (Table XII, s / epoch): LMAM 17.8 s, 0.62 M; self-attention 58.7 s, 3.42 M "
        f"(ratio {17.8 / 58.7:.2f}); goal for the fusion alone: <= {FLOP_GOAL}"
    )
    path = write_json(
        "emocaps_slot",
        {
            "config": {
                "batch_size": args.batch_size,
                "lengths": lengths,
                "widths": WIDTHS,
                "repeats": args.repeats,
                "slot_dim": narrowest,
                "settings": settings,
            },
            "environment": environment(),
            "results": results,
            "paper": PAPER,
            "flop_goal": FLOP_GOAL,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
