"""LMAM with a window ``context=w``: the band against the masked ``T x T`` scores.

Forward and backward of LMAM alone (the benchmark's widths: text/audio/visual
100/100/512, rank 45, ``dim`` 100, out 100), side by side in one process, median of
interleaved rounds, one thread. The band is forced (taken whatever ``T``) so that the
tables show where it pays, and beside it stands what
:meth:`~lmam.nn.cross_attention.CrossModalAttention.banded` chooses:

1. a grid of dialogue lengths ``T`` (all utterances real, about 3,500 of them per
   batch: ``B = 3520 // T`` dialogues) by windows ``w``: seconds with the band and
   with the masked scores (``band_windows=False``), their ratio, the rule's choice,
   and the largest difference of the outputs;
2. the chunk's least size (``band_least_chunk`` 8, 16, 32, 64) at ``w = 2``, ``T`` 110
   and 440;
3. the first 32 IEMOCAP training dialogues' lengths (1,549 utterances,
   ``bench/data/lengths.json``) in the library's default CPU path (length groups; the
   rule chooses per group).

    python -m bench.band [--quick] [--out band]   # writes bench/results/band.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from bench.common import environment, interleaved_medians, print_table, write_json
from lmam.nn import LMAM
from lmam.nn.masking import length_groups

WIDTHS = {"text": 100, "audio": 100, "visual": 512}
ROWS = 3520
LENGTHS = (32, 64, 96, 128, 160, 220, 440)
WINDOWS = (1, 2, 4, 8, 16)
CHUNKS = (8, 16, 32, 64)
IEMOCAP = json.loads((Path(__file__).resolve().parent / "data" / "lengths.json").read_text())


class ForcedBand(LMAM):
    """LMAM that takes the band for every window, whatever the length."""

    def banded(self, length: int) -> bool:
        return isinstance(self.context, int)


def batch(lengths: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    t = max(lengths)
    feats = {m: torch.randn(len(lengths), t, d, generator=g) for m, d in WIDTHS.items()}
    mask = torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]
    return feats, mask


def step(fusion: LMAM, feats: dict[str, torch.Tensor], mask: torch.Tensor) -> None:
    fusion.zero_grad(set_to_none=True)
    fusion(feats, mask).sum().backward()


def compare(
    window: int,
    lengths: list[int],
    repeats: int,
    group_lengths: bool = False,
    least_chunk: int = LMAM.band_least_chunk,
) -> dict[str, Any]:
    torch.manual_seed(0)
    band = ForcedBand(WIDTHS, 100, rank=45, context=window)
    band.band_least_chunk = least_chunk
    masked = LMAM(WIDTHS, 100, rank=45, context=window)
    masked.load_state_dict(band.state_dict())
    masked.band_windows = False
    rule = LMAM(WIDTHS, 100, rank=45, context=window)
    rule.load_state_dict(band.state_dict())
    for fusion in (band, masked, rule):
        fusion.group_lengths = group_lengths
    feats, mask = batch(lengths)
    with torch.no_grad():
        diff = (band(feats, mask) - masked(feats, mask)).abs().max().item()
    jobs = {
        "band": lambda: step(band, feats, mask),
        "masked": lambda: step(masked, feats, mask),
    }
    if group_lengths:  # the rule chooses per group: time what it does too
        jobs["rule"] = lambda: step(rule, feats, mask)
    times = interleaved_medians(jobs, dict.fromkeys(jobs, repeats))
    extents = [t for _, t in length_groups(mask)] if group_lengths else [max(lengths)]
    return {
        "window": window,
        "T": max(lengths),
        "dialogues": len(lengths),
        "utterances": sum(lengths),
        "least_chunk": least_chunk,
        "extents": extents,
        "chosen": [rule.banded(t) for t in extents],
        "band_s": times["band"],
        "masked_s": times["masked"],
        "speedup": times["masked"] / times["band"],
        "rule_s": times.get("rule"),
        "max_abs_diff": diff,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, a smaller grid")
    parser.add_argument("--out", default="band", help="bench/results/<out>.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    repeats = 2 if args.quick else 7
    lengths = LENGTHS[1::3] if args.quick else LENGTHS
    windows = WINDOWS[:2] if args.quick else WINDOWS
    columns = ["T", "w", "dialogues", "band s", "masked s", "masked / band", "chosen", "max diff"]

    def rows(records: list[dict[str, Any]]) -> list[list[object]]:
        return [
            [r["T"], r["window"], r["dialogues"], r["band_s"], r["masked_s"],
             f"{r['speedup']:.2f}x", choice(r), f"{r['max_abs_diff']:.1e}"]
            for r in records
        ]  # fmt: skip

    def choice(r: dict[str, Any]) -> str:
        if len(r["chosen"]) == 1:
            return "band" if r["chosen"][0] else "masked"
        return " ".join(f"{t}{'b' if c else 'm'}" for t, c in zip(r["extents"], r["chosen"]))

    grid = [compare(w, [t] * max(1, ROWS // t), repeats) for t in lengths for w in windows]
    print_table("LMAM forward+backward, equal-length dialogues, band forced", columns, rows(grid))
    chunk_lengths = (110,) if args.quick else (110, 440)
    chunks = [
        compare(2, [t] * max(1, ROWS // t), repeats, least_chunk=c)
        for t in chunk_lengths
        for c in CHUNKS
    ]
    print_table(
        "the chunk's least size, w = 2",
        ["T", "least chunk", "band s", "masked s", "masked / band"],
        [
            [r["T"], r["least_chunk"], r["band_s"], r["masked_s"], f"{r['speedup']:.2f}x"]
            for r in chunks
        ],
    )
    iemocap = IEMOCAP["iemocap"][:32]
    real = [compare(w, iemocap, repeats, group_lengths=True) for w in windows]
    print_table(
        "32 IEMOCAP-length dialogues, length groups (the CPU default; chosen per group: "
        "extent, b band, m masked)",
        [*columns, "rule s", "masked / rule"],
        [
            [*row, r["rule_s"], f"{r['masked_s'] / r['rule_s']:.2f}x"]
            for row, r in zip(rows(real), real)
        ],
    )
    path = write_json(
        args.out,
        {
            "environment": environment(),
            "widths": WIDTHS,
            "rank": 45,
            "repeats": repeats,
            "grid": grid,
            "chunks": chunks,
            "iemocap32": real,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
