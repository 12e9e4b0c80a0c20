"""Seconds per added utterance of an online session: carried state against rerun.

A causal DialogueRNN (``bidirectional=False``, ``emotion_attention=False``, the
tutorial's configuration, 384-d text as MiniLM gives, default widths, 1 thread),
with concatenation and with LMAM (``context="causal"``, ``early_residual``). For each
dialogue length L of ``--lengths``, the cost of adding utterance L to a dialogue of
L-1: ``carried`` is :meth:`lmam.models.ERCModel.step` from the state carried over
the first L-1 utterances; ``rerun`` is the forward pass over all L utterances (what
a session of a model that cannot step does). Median of ``--repeats`` (random
features; the text encoder's cost, the same for both, is left out).

    python -m bench.session_cost [--lengths 10,100,1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import Any

import torch

from bench.common import environment, print_table, write_json
from lmam.models import create_model
from lmam.models.dialoguernn import StepState

VARIANTS: dict[str, dict[str, Any]] = {
    "DialogueRNN (concat)": {"fusion": "concat", "embed": "early"},
    "DialogueRNN + LMAM (causal)": {
        "fusion": "lmam",
        "embed": "early_residual",
        "fusion_options": {"context": "causal"},
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="10,100,1000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="session_cost")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, table = [], []
    for label, variant in VARIANTS.items():
        torch.manual_seed(0)
        model = create_model(
            "dialoguernn",
            in_dims={"text": 384},
            num_classes=7,
            bidirectional=False,
            emotion_attention=False,
            **variant,
        ).eval()
        for length in (int(n) for n in args.lengths.split(",")):
            g = torch.Generator().manual_seed(length)
            feats = {"text": torch.randn(1, length, 384, generator=g)}
            speakers = torch.randint(0, 2, (1, length), generator=g)
            with torch.no_grad():
                state = StepState()
                for k in range(length - 1):  # the state after L-1 utterances
                    model.step({"text": feats["text"][:, : k + 1]}, int(speakers[0, k]), state)
                carried, rerun = [], []
                for _ in range(args.repeats):
                    s = copy.deepcopy(state)
                    start = time.perf_counter()
                    last = model.step(feats, int(speakers[0, -1]), s)
                    carried.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    whole = model(feats, torch.ones(1, length, dtype=torch.bool), speakers)
                    rerun.append(time.perf_counter() - start)
                assert torch.allclose(last[0], whole[0, -1], atol=1e-5), "step != forward"
            row: dict[str, Any] = {
                "variant": label,
                "length": length,
                "carried_seconds": statistics.median(carried),
                "rerun_seconds": statistics.median(rerun),
            }
            row["speedup"] = row["rerun_seconds"] / row["carried_seconds"]
            rows.append(row)
            table.append(
                [
                    label,
                    length,
                    1000 * row["carried_seconds"],
                    1000 * row["rerun_seconds"],
                    f"{row['speedup']:.1f}x",
                ]
            )
    print_table(
        "ms per added utterance, 1 thread",
        ["model", "dialogue length", "carried (ms)", "rerun (ms)", "rerun / carried"],
        table,
    )
    path = write_json(args.out, {"environment": environment(), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
