"""Multi-head attention over padded conversations: one module for every model.

:class:`MaskedMultiheadAttention` is the attention of MulT and its family
(:mod:`lmam.nn.crossmodal`), of the dialogue-level Transformer layers of M2FNet
and EmoCaps (:mod:`lmam.nn.transformer`) and of M2FNet's cross-modal
attention. It is written out (no ``nn.MultiheadAttention``, whose inference
fast path changes what padded positions hold): disallowed keys get exactly zero
weight (:func:`~lmam.nn.masking.masked_softmax`), so padding never reaches a
real utterance, and a query with no allowed key gets zeros, never NaN.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lmam.nn.masking import context_mask, masked_softmax
from lmam.nn.options import positive_int


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """Vaswani et al.'s sinusoidal codes: ``(T, dim)``, sin on even and cos on odd columns."""
    pos = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    rates = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )
    codes = torch.zeros(length, dim, device=device)
    codes[:, 0::2] = torch.sin(pos * rates)
    codes[:, 1::2] = torch.cos(pos * rates[: dim // 2])
    return codes


def attention_mask(keep: Tensor, context: str | int = "full") -> Tensor:
    """Which key utterance each query utterance may attend to.

    Args:
        keep: ``(B, T)`` boolean, true at real utterances.
        context: ``"full"``, ``"causal"`` or an int window (see
            :func:`~lmam.nn.masking.context_mask`).

    Returns:
        Boolean ``(B, T, T)`` (or ``(B, 1, T)`` for ``"full"``): real keys in context.
    """
    allowed = keep.unsqueeze(1)
    ctx = context_mask(keep.shape[1], context, device=keep.device)
    return allowed if ctx is None else allowed & ctx.unsqueeze(0)


class MaskedMultiheadAttention(nn.Module):
    """Multi-head scaled dot-product attention whose weights skip disallowed keys.

    Unlike ``nn.MultiheadAttention`` a query with no allowed key (a fully
    padded dialogue) gets zeros, never NaN (:func:`~lmam.nn.masking.masked_softmax`).

    Args:
        dim: model width (queries, keys, values and output).
        heads: number of heads; must divide ``dim``.
        dropout: dropout on the attention weights.
    """

    def __init__(self, dim: int, heads: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % positive_int("heads", heads):
            raise ValueError(f"heads ({heads}) must divide the width ({dim})")
        self.dim = dim
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)  # (B, H, T, d/H)

    def forward(self, query: Tensor, source: Tensor, allowed: Tensor | None = None) -> Tensor:
        """Attend.

        Args:
            query: ``(B, T, D)``.
            source: ``(B, S, D)``, the keys and values.
            allowed: boolean ``(B, T, S)`` or ``(B, 1, S)``; ``None``: every key.

        Returns:
            ``(B, T, D)``.
        """
        if allowed is not None and allowed.dim() != 3:
            raise ValueError(f"allowed must be (B, T, S) or (B, 1, S), got {tuple(allowed.shape)}")
        q, k, v = (
            self._split(self.query(query)),
            self._split(self.key(source)),
            self._split(self.value(source)),
        )
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, H, T, S)
        if allowed is None:
            alpha = torch.softmax(scores, dim=-1)
        else:
            alpha = masked_softmax(scores, allowed.unsqueeze(1))
        out = (self.drop(alpha) @ v).transpose(1, 2).flatten(2)
        return self.out(out)
