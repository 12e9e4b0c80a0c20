"""Training losses, summed over real utterances (the engine normalises)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def class_weights(counts: Tensor) -> Tensor:
    """Inverse-frequency class weights, normalised to mean 1 over present classes."""
    counts = counts.to(torch.float32)
    w = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    return w * (counts > 0).sum() / w.sum()


def summed_loss(
    kind: str,
    logits: Tensor,
    labels: Tensor,
    weights: Tensor | None = None,
    gamma: float = 2.0,
) -> Tensor:
    """Sum of per-utterance losses.

    Args:
        kind: ``ce``, ``weighted_ce``, ``focal`` or ``mse``.
        logits: ``(N, C)`` for classification; ``(N, K)`` for regression.
        labels: ``(N,)`` class ids, or ``(N,)`` / ``(N, K)`` targets.
        weights: ``(C,)`` class weights for ``weighted_ce``.
    """
    if kind == "mse":
        return F.mse_loss(
            logits.reshape(labels.shape[0], -1),
            labels.reshape(labels.shape[0], -1).to(logits.dtype),
            reduction="sum",
        )
    if kind == "ce":
        return F.cross_entropy(logits, labels, reduction="sum")
    if kind == "weighted_ce":
        return F.cross_entropy(logits, labels, weight=weights, reduction="sum")
    if kind == "focal":
        logp = F.log_softmax(logits, dim=-1).gather(1, labels.unsqueeze(1)).squeeze(1)
        return -(((1 - logp.exp()) ** gamma) * logp).sum()
    raise ValueError(f"unknown loss {kind!r}")
