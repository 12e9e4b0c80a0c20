"""Table XIV: C-MFN (P), C-MFN (C), C-MFN and their LMAM versions over five
modality sets, each trained with dev-accuracy selection and scored on test.

Results are only meaningful on the real UR-FUNNY files; on synthetic data
(:mod:`.synthetic`) this only shows that the pipeline runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lmam.errors import OptionError
from lmam.outputs import atomic_write_json, atomic_write_text
from lmam.tasks.humour.data import HumourData, HumourSample, load_urfunny
from lmam.tasks.humour.model import CMFN

MODALITY_SETS = {
    "T": ("text",),
    "A+V": ("audio", "visual"),
    "T+A": ("text", "audio"),
    "T+V": ("text", "visual"),
    "T+A+V": ("text", "audio", "visual"),
}
MODELS = {
    "C-MFN (P)": ("punchline", False),
    "C-MFN (C)": ("context", False),
    "C-MFN": ("full", False),
    "C-MFN (P)*": ("punchline", True),
    "C-MFN (C)*": ("context", True),
    "C-MFN*": ("full", True),
}


@dataclass
class HumourSettings:
    """Training settings shared by every cell of the table."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    hidden: int = 32
    memory: int = 32
    context_dim: int = 32
    rank: int = 16
    seed: int = 0
    threads: int = 1


Batch = tuple[
    dict[str, torch.Tensor], torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor
]


def collate(samples: Sequence[HumourSample], modalities: Sequence[str]) -> Batch:
    """Pad a batch: punchline ``{m: (B, T, D_m)}`` and mask ``(B, T)``; context
    ``{m: (B, S, W, D_m)}`` and mask ``(B, S, W)``; labels ``(B,)``."""
    b = len(samples)
    t = max(1, *(max(len(s.punchline[m]) for m in modalities) for s in samples))
    n_s = max(1, *(len(s.context) for s in samples))
    w = max(1, *(len(c[m]) for s in samples for c in s.context for m in modalities), 1)
    dims = {m: samples[0].punchline[m].shape[1] for m in modalities}
    punch = {m: torch.zeros(b, t, dims[m]) for m in modalities}
    pmask = torch.zeros(b, t, dtype=torch.bool)
    ctx = {m: torch.zeros(b, n_s, w, dims[m]) for m in modalities}
    cmask = torch.zeros(b, n_s, w, dtype=torch.bool)
    for i, s in enumerate(samples):
        for m in modalities:
            x = s.punchline[m]
            punch[m][i, : len(x)] = torch.from_numpy(x)
            pmask[i, : len(x)] = True
            for k, sent in enumerate(s.context):
                ctx[m][i, k, : len(sent[m])] = torch.from_numpy(sent[m])
                cmask[i, k, : len(sent[m])] = True
    labels = torch.tensor([s.label for s in samples], dtype=torch.float32)
    return punch, pmask, ctx, cmask, labels


def _batches(
    samples: list[HumourSample], order: np.ndarray, size: int, mods: Sequence[str]
) -> Iterator[Batch]:
    for start in range(0, len(order), size):
        yield collate([samples[i] for i in order[start : start + size]], mods)


@torch.no_grad()
def accuracy(model: CMFN, samples: list[HumourSample], mods: Sequence[str]) -> float:
    """Binary accuracy (percent) at logit 0."""
    model.eval()
    right = 0
    for punch, pmask, ctx, cmask, y in _batches(samples, np.arange(len(samples)), 64, mods):
        right += int(((model(punch, pmask, ctx, cmask) > 0).float() == y).sum())
    return 100.0 * right / max(len(samples), 1)


def train_cell(
    data: HumourData, variant: str, lmam: bool, mods: Sequence[str], s: HumourSettings
) -> dict[str, Any]:
    """Train one model on one modality set; the epoch with the best dev accuracy is kept."""
    torch.manual_seed(s.seed)
    model = CMFN(
        {m: data.dims[m] for m in mods}, variant=variant, lmam=lmam, hidden=s.hidden,
        memory=s.memory, context_dim=s.context_dim, rank=s.rank,
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=s.lr)
    best: dict[str, Any] = {"dev": -1.0}
    start = time.perf_counter()
    for epoch in range(1, s.epochs + 1):
        model.train()
        torch.manual_seed(s.seed * 1_000_003 + epoch)
        order = np.random.default_rng([s.seed, epoch]).permutation(len(data.train))
        for punch, pmask, ctx, cmask, y in _batches(data.train, order, s.batch_size, mods):
            loss = F.binary_cross_entropy_with_logits(model(punch, pmask, ctx, cmask), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        dev = accuracy(model, data.dev, mods)
        if dev > best["dev"]:
            best = {"dev": dev, "test": accuracy(model, data.test, mods), "epoch": epoch}
    best["seconds"] = time.perf_counter() - start
    best["parameters"] = sum(p.numel() for p in model.parameters())
    return best


def run_table14(
    data_dir: str | Path,
    out: Path | None,
    settings: HumourSettings,
    models: Sequence[str] = tuple(MODELS),
    modality_sets: Sequence[str] = tuple(MODALITY_SETS),
    log: bool = True,
) -> dict[str, Any]:
    """Every (model, modality set) cell; writes ``out`` (JSON) and ``out``.md if given.

    Raises:
        OptionError: an unknown model or modality set name.
        DataError: unreadable or malformed UR-FUNNY files.
    """
    for name in models:
        if name not in MODELS:
            raise OptionError(f"model {name!r}: choose from {', '.join(MODELS)}")
    for name in modality_sets:
        if name not in MODALITY_SETS:
            raise OptionError(f"modality set {name!r}: choose from {', '.join(MODALITY_SETS)}")
    torch.set_num_threads(settings.threads)
    data = load_urfunny(data_dir)
    cells: dict[str, dict[str, Any]] = {}
    for name in models:
        variant, lmam = MODELS[name]
        cells[name] = {}
        for mset in modality_sets:
            cells[name][mset] = train_cell(data, variant, lmam, MODALITY_SETS[mset], settings)
            if log:
                c = cells[name][mset]
                print(
                    f"{name:11s} {mset:6s} dev {c['dev']:.2f} test {c['test']:.2f} (epoch {c['epoch']})",
                    flush=True,
                )
    result = {
        "data_dir": str(data_dir),
        "sizes": {"train": len(data.train), "dev": len(data.dev), "test": len(data.test)},
        "selection": "dev accuracy",
        "metric": "test accuracy (%)",
        "settings": settings.__dict__,
        "cells": cells,
    }
    if out is not None:
        atomic_write_json(out, result)
        atomic_write_text(out.with_suffix(".md"), markdown(result))
    return result


def markdown(result: dict[str, Any]) -> str:
    """The table as Markdown: rows models, columns modality sets, test accuracy."""
    cells = result["cells"]
    sets = list(next(iter(cells.values())))
    lines = ["| model | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    for name, row in cells.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[s]['test']:.2f}" for s in sets) + " |")
    return "\n".join(lines) + "\n"


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)
