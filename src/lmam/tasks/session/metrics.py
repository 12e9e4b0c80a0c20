"""Top-K metrics of session recommendation: P@K (hit rate) and MRR@K, in percent."""

from __future__ import annotations

import torch
from torch import Tensor

CUTOFFS = (5, 10, 20)


class RankingMeter:
    """Accumulates P@K and MRR@K over batches.

    P@K is the share of cases whose target is among the top ``K`` scores;
    MRR@K the mean of ``1 / rank`` of the target, 0 when it ranks below ``K``.
    Ties are ranked optimistically only by ``topk``'s order (as in the
    published code).
    """

    def __init__(self, cutoffs: tuple[int, ...] = CUTOFFS) -> None:
        self.cutoffs = cutoffs
        self.hits = dict.fromkeys(cutoffs, 0.0)
        self.rr = dict.fromkeys(cutoffs, 0.0)
        self.count = 0

    def update(self, scores: Tensor, targets: Tensor) -> None:
        """Args: scores: ``(B, N)`` (column ``k`` is item ``k + 1``); targets: ``(B,)`` ids ``1..N``."""
        top = scores.topk(max(self.cutoffs), dim=1).indices + 1  # (B, K)
        found = top == targets[:, None]
        rank = torch.arange(1, top.shape[1] + 1, device=top.device, dtype=torch.float64)
        for k in self.cutoffs:
            f = found[:, :k]
            self.hits[k] += float(f.any(1).sum())
            self.rr[k] += float((f.double() / rank[:k]).sum())
        self.count += int(targets.shape[0])

    def result(self) -> dict[str, float]:
        """``{"P@5": ..., "MRR@5": ..., ...}`` in percent."""
        n = max(self.count, 1)
        out: dict[str, float] = {}
        for k in self.cutoffs:
            out[f"P@{k}"] = 100.0 * self.hits[k] / n
        for k in self.cutoffs:
            out[f"MRR@{k}"] = 100.0 * self.rr[k] / n
        return out
