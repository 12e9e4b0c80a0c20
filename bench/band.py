"""LMAM with a window ``context=w``: the band against the masked ``T x T`` scores.

Forward and backward of LMAM alone (the benchmark's widths: text/audio/visual
100/100/512, rank 45, ``dim`` 100, out 100), side by side in one process, median of
interleaved rounds, one thread:

1. a grid of dialogue lengths ``T`` (all utterances real, about 3,500 of them per
   batch: ``B = 3520 // T`` dialogues) by windows ``w``: seconds with the band
   (:meth:`~lmam.nn.cross_attention.CrossModalAttention._summed_band`) and with
   the masked scores (``band_windows=False``), their ratio, whether
   :meth:`~lmam.nn.cross_attention.CrossModalAttention.banded` picks the band
   there, and the largest difference of the outputs;
2. the first 32 IEMOCAP training dialogues' lengths (1,549 utterances,
   ``bench/data/lengths.json``) in the library's default CPU path (length groups).

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

WIDTHS = {"text": 100, "audio": 100, "visual": 512}
ROWS = 3520
LENGTHS = (32, 64, 96, 128, 160, 220, 440)
WINDOWS = (1, 2, 4, 8, 16)
IEMOCAP = json.loads((Path(__file__).resolve().parent / "data" / "lengths.json").read_text())


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
    window: int, lengths: list[int], repeats: int, group_lengths: bool = False
) -> dict[str, Any]:
    torch.manual_seed(0)
    band = LMAM(WIDTHS, 100, rank=45, context=window)
    band.group_lengths = group_lengths
    masked = LMAM(WIDTHS, 100, rank=45, context=window)
    masked.load_state_dict(band.state_dict())
    masked.group_lengths = group_lengths
    masked.band_windows = False
    feats, mask = batch(lengths)
    with torch.no_grad():
        diff = (band(feats, mask) - masked(feats, mask)).abs().max().item()
    times = interleaved_medians(
        {
            "band": lambda: step(band, feats, mask),
            "masked": lambda: step(masked, feats, mask),
        },
        dict.fromkeys(("band", "masked"), repeats),
    )
    return {
        "window": window,
        "T": max(lengths),
        "dialogues": len(lengths),
        "utterances": sum(lengths),
        "picked": band.banded(max(lengths)),
        "band_s": times["band"],
        "masked_s": times["masked"],
        "speedup": times["masked"] / times["band"],
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
    grid = [compare(w, [t] * max(1, ROWS // t), repeats) for t in lengths for w in windows]
    columns = ["T", "w", "dialogues", "band s", "masked s", "masked / band", "banded()", "max diff"]

    def rows(records: list[dict[str, Any]]) -> list[list[object]]:
        return [
            [r["T"], r["window"], r["dialogues"], r["band_s"], r["masked_s"],
             f"{r['speedup']:.2f}x", "band" if r["picked"] else "masked", f"{r['max_abs_diff']:.1e}"]
            for r in records
        ]  # fmt: skip

    print_table("LMAM forward+backward, equal-length dialogues", columns, rows(grid))
    iemocap = IEMOCAP["iemocap"][:32]
    real = [compare(w, iemocap, repeats, group_lengths=True) for w in windows]
    print_table("32 IEMOCAP-length dialogues, length groups (the CPU default)", columns, rows(real))
    path = write_json(
        args.out,
        {
            "environment": environment(),
            "widths": WIDTHS,
            "rank": 45,
            "repeats": repeats,
            "grid": grid,
            "iemocap32": real,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
