"""Every backbone with and without LMAM, side by side: parameters and seconds per batch.

IEMOCAP-shaped batches: 32 dialogues drawn (seeded) from the 120 real
train+valid lengths in ../shared/data/iemocap, random features of the classic
widths (text 100, audio 100, visual 512), two speakers, 6 classes. One timed
unit is the forward and backward pass of one batch (cross-entropy over the
real utterances; no optimiser step). Every model is timed round-robin with
every other in one process (see ``common.interleaved_medians``), 1 thread.

Two goals are checked:

- plug-in cost: with its default options, LMAM at every embedding point adds
  at most 0.62 M parameters to every backbone (the paper's Tables V/VI) and
  costs at most the paper's time ratio for that backbone (Table VI, IEMOCAP:
  TextCNN 1.65/0.68, bc-LSTM 2.18/1.21, DialogueRNN 48.54/47.96, DialogueGCN
  57.77/56.18, MM-DFN 3.89/3.15, M2FNet 13.11/12.48, EmoCaps 17.54/16.73).
  Every backbone's row without LMAM is its default: ``fusion="concat"`` for
  the single-stream ones, the multimodal ones (MM-DFN, M2FNet, EmoCaps) with
  their own fusion only (``fusion="none"``);
- DialogueRNN speed: text-only BiDialogueRNN+Att at the reference's sizes
  (D_m 100, D_g = D_p = 500, D_e = D_h = 300, ``general`` attention) takes at most
  50x the time of text-only bc-LSTM (the reference implementation took about 110x).

``--embeds`` limits the embedding points; ``--padded-too`` also times every LMAM
model with ``group_lengths=False`` (its attention over the batch padded to the longest
dialogue, as before length grouping), side by side in the same run. ``--input-grads``
also times every backbone with gradients of its input features: what the backbone
costs behind any fusion at ``early`` or ``early_residual``, whose weights its backward
pass has to reach (alone, a backbone never differentiates its input features), so that
LMAM's own share of an early plug-in is the difference to that row.

    python -m bench.backbones [--repeats 5] [--batch-size 32] [--models m2fnet,emocaps]
        [--embeds early_residual] [--padded-too] [--input-grads] [--out NAME]
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bench.common import environment, interleaved_medians, print_table, write_json
from lmam.data.transcripts import read_transcripts
from lmam.models import EMBEDS, create_model, list_models
from lmam.nn.cross_attention import CrossModalAttention

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "iemocap"
WIDTHS = {"text": 100, "audio": 100, "visual": 512}
CLASSES = 6
PAPER_TIME_RATIO = {
    "textcnn": 1.65 / 0.68,
    "bclstm": 2.18 / 1.21,
    "dialoguernn": 48.54 / 47.96,
    "dialoguegcn": 57.77 / 56.18,
    "mmdfn": 3.89 / 3.15,
    "m2fnet": 13.11 / 12.48,
    "emocaps": 17.54 / 16.73,
}
PAPER_ADDED_PARAMS = 0.62e6
SPEED_GOAL = 50.0
REFERENCE_SIZES = {"d_g": 500, "d_p": 500, "d_e": 300, "d_h": 300, "att_type": "general"}


def iemocap_lengths() -> list[int]:
    ds = read_transcripts(SHARED)
    return [len(c) for c in ds.train + ds.valid]


def make_batch(
    lengths: list[int], widths: dict[str, int], seed: int = 0
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random features of the given widths for dialogues of the given lengths.
    Returns feats ``{m: (B, T, D_m)}``, mask, speakers and labels ``(B, T)``."""
    g = torch.Generator().manual_seed(seed)
    b, t = len(lengths), max(lengths)
    mask = torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    feats = {m: torch.randn(b, t, d, generator=g) * mask.unsqueeze(-1) for m, d in widths.items()}
    speakers = torch.randint(0, 2, (b, t), generator=g)
    labels = torch.randint(0, CLASSES, (b, t), generator=g)
    return feats, mask, speakers, labels


def step(model: nn.Module, batch: tuple[Any, ...]) -> None:
    feats, mask, speakers, labels = batch
    model.zero_grad(set_to_none=True)
    logits = model(feats, mask, speakers)
    nn.functional.cross_entropy(logits[mask], labels[mask]).backward()


def step_input_grads(model: nn.Module, batch: tuple[Any, ...]) -> None:
    """:func:`step` with the features of ``batch`` requiring gradients (cleared first)."""
    for x in batch[0].values():
        x.grad = None
    step(model, batch)


def count(model: nn.Module | None) -> int:
    """Parameters of ``model`` (0 for none, e.g. a model built with ``fusion="none"``)."""
    return 0 if model is None else sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per model")
    parser.add_argument("--batch-size", type=int, default=32, help="dialogues per batch")
    parser.add_argument(
        "--models", default=",".join(list_models()), help="comma-separated backbones (default: all)"
    )
    parser.add_argument("--embeds", default=",".join(EMBEDS), help="LMAM's embedding points")
    parser.add_argument(
        "--padded-too", action="store_true", help="also time LMAM without length grouping"
    )
    parser.add_argument(
        "--input-grads",
        action="store_true",
        help="also time every backbone with gradients of its input features",
    )
    parser.add_argument(
        "--out", default="backbones", help="results file name, bench/results/<out>.json"
    )
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is absent: this benchmark needs IEMOCAP's dialogue lengths")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    lengths = [int(n) for n in rng.choice(iemocap_lengths(), args.batch_size, replace=False)]
    batch = make_batch(lengths, WIDTHS)
    text_batch = make_batch(lengths, {"text": WIDTHS["text"]})

    models: dict[str, nn.Module] = {}
    batches: dict[str, tuple[Any, ...]] = {}
    names = args.models.split(",")
    embeds: dict[str, list[str]] = {}
    for name in names:
        models[f"{name}"] = create_model(name, in_dims=WIDTHS, num_classes=CLASSES)
        batches[name] = batch
        # late_text is defined for single-stream backbones only
        multimodal = bool(getattr(models[name], "multimodal", False))
        wanted = args.embeds.split(",")
        embeds[name] = [e for e in wanted if not (multimodal and e == "late_text")]
        for embed in embeds[name]:
            key = f"{name} + LMAM {embed}"
            models[key] = create_model(
                name, in_dims=WIDTHS, num_classes=CLASSES, fusion="lmam", embed=embed
            )
            batches[key] = batch
            if args.padded_too:
                padded = copy.deepcopy(models[key])
                for module in padded.modules():
                    if isinstance(module, CrossModalAttention):
                        module.group_lengths = False
                models[f"{key} (padded)"] = padded
                batches[f"{key} (padded)"] = batch
    steps = dict.fromkeys(models, step)
    if args.input_grads:
        grad_batch = (
            {m: x.clone().requires_grad_() for m, x in batch[0].items()},
            *batch[1:],
        )
        for name in names:
            models[f"{name} (input gradients)"] = models[name]
            batches[f"{name} (input gradients)"] = grad_batch
            steps[f"{name} (input gradients)"] = step_input_grads
    text = {"text": WIDTHS["text"]}
    models["text bclstm"] = create_model("bclstm", in_dims=text, num_classes=CLASSES)
    models["text BiDialogueRNN+Att (reference sizes)"] = create_model(
        "dialoguernn", in_dims=text, num_classes=CLASSES, **REFERENCE_SIZES
    )
    for key in ("text bclstm", "text BiDialogueRNN+Att (reference sizes)"):
        batches[key] = text_batch

    jobs = {
        key: (lambda m=m, b=batches[key], f=steps.get(key, step): f(m, b))
        for key, m in models.items()
    }
    seconds = interleaved_medians(jobs, dict.fromkeys(jobs, args.repeats))
    params = {key: count(m) for key, m in models.items()}
    fusion_params = {key: count(getattr(m, "fusion", None)) for key, m in models.items()}

    rows = []
    plug_in: dict[str, dict[str, Any]] = {}
    for name in names:
        rows.append([name, params[name], "", "", seconds[name], "", ""])
        for key in [
            k
            for e in embeds[name]
            for k in (f"{name} + LMAM {e}", f"{name} + LMAM {e} (padded)")
            if k in models
        ]:
            added = params[key] - params[name]
            ratio = seconds[key] / seconds[name]
            met = added <= PAPER_ADDED_PARAMS and ratio <= PAPER_TIME_RATIO[name]
            plug_in[key] = {
                "added_params": added,
                "fusion_params": fusion_params[key],
                "time_ratio": ratio,
                "goal_met": met,
            }
            rows.append(
                [
                    key,
                    params[key],
                    added,
                    fusion_params[key],
                    seconds[key],
                    ratio,
                    "yes" if met else "NO",
                ]
            )
    print_table(
        f"forward+backward of one batch ({args.batch_size} IEMOCAP-length dialogues, "
        f"{sum(lengths)} utterances, widths 100/100/512), 1 thread, median of {args.repeats}",
        ["model", "params", "added", "LMAM's own", "s / batch", "x backbone", "goal"],
        rows,
    )
    own_share: dict[str, dict[str, float]] = {}
    if args.input_grads:
        share_rows = []
        for name in names:
            with_grads = seconds[f"{name} (input gradients)"]
            for e in embeds[name]:
                if not e.startswith("early"):
                    continue
                key = f"{name} + LMAM {e}"
                own_share[key] = {
                    "backbone": seconds[name],
                    "backbone_input_gradients": with_grads,
                    "with_lmam": seconds[key],
                    "x_backbone": seconds[key] / seconds[name],
                    "x_backbone_input_gradients": seconds[key] / with_grads,
                }
                share_rows.append([key, *own_share[key].values()])
        print_table(
            "an early plug-in's cost, the backbone's input gradients apart",
            ["model", "backbone", "+ input gradients", "+ LMAM", "x backbone", "x with grads"],
            share_rows,
        )
    ratio = seconds["text BiDialogueRNN+Att (reference sizes)"] / seconds["text bclstm"]
    speed_rows = [
        [k, params[k], seconds[k], seconds[k] / seconds["text bclstm"]]
        for k in ("text bclstm", "text BiDialogueRNN+Att (reference sizes)")
    ]
    print_table(
        "text only (D_m 100): DialogueRNN speed",
        ["model", "params", "s / batch", "x bclstm"],
        speed_rows,
    )
    for name, r in PAPER_TIME_RATIO.items():
        print(
            f"plug-in goal for {name}: <= {PAPER_ADDED_PARAMS / 1e6:.2f} M added, <= {r:.2f}x time"
        )
    print(
        f"DialogueRNN speed goal: <= {SPEED_GOAL:.0f}x bclstm: {ratio:.1f}x, "
        f"{'met' if ratio <= SPEED_GOAL else 'NOT met'}"
    )
    path = write_json(
        args.out,
        {
            "config": {
                "batch_size": args.batch_size,
                "lengths": lengths,
                "widths": WIDTHS,
                "repeats": args.repeats,
                "reference_sizes": REFERENCE_SIZES,
            },
            "environment": environment(),
            "params": params,
            "seconds_per_batch": seconds,
            "plug_in": plug_in,
            "input_gradients": own_share,
            "paper_time_ratio": PAPER_TIME_RATIO,
            "paper_added_params": PAPER_ADDED_PARAMS,
            "dialoguernn_speed": {"ratio_to_bclstm": ratio, "goal": SPEED_GOAL},
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
