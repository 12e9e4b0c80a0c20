"""Multi-head attention and a Transformer encoder layer over padded conversations.

Used by the dialogue-level Transformers of M2FNet and EmoCaps' Emoformer. The
attention is written out (no ``nn.MultiheadAttention``, whose inference fast
path changes what padded positions hold): padded keys get exactly zero weight
(:func:`~lmam.nn.masking.masked_softmax`), so padding never reaches a real
utterance, and the batch equals each dialogue alone (tested against a plain
per-dialogue reference).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lmam.nn.masking import masked_softmax
from lmam.nn.options import positive_int


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with ``heads`` heads (Vaswani et al., 2017).

    Args:
        dim: width of queries, keys, values and output (divisible by ``heads``).
        heads: number of heads.
        dropout: dropout of the attention weights.

    ``forward(query: (B, T, dim), key: (B, S, dim), value: (B, S, dim),
    key_mask: (B, S)) -> (B, T, dim)``; ``key_mask`` is true at real keys.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        positive_int("dim", dim)
        positive_int("heads", heads)
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.dim = dim
        self.heads = heads
        self.wq = nn.Linear(dim, dim)
        self.wk = nn.Linear(dim, dim)
        self.wv = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> Tensor:
        """``(B, T, dim)`` -> ``(B, heads, T, dim / heads)``."""
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.dim // self.heads).transpose(1, 2)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_mask: Tensor) -> Tensor:
        q, k, v = (
            self._split(self.wq(query)),
            self._split(self.wk(key)),
            self._split(self.wv(value)),
        )
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.dim // self.heads)
        weights = self.drop(masked_softmax(scores, key_mask.to(torch.bool)[:, None, None, :]))
        b, t, _ = query.shape
        return self.out((weights @ v).transpose(1, 2).reshape(b, t, self.dim))


class TransformerLayer(nn.Module):
    """One post-norm Transformer encoder layer over the utterances of a conversation::

        h = LN(x + Dropout(MHA(x, x, x)));  out = LN(h + Dropout(W_2 ReLU(W_1 h)))

    Args:
        dim: width.
        heads: attention heads.
        ff: width of the feed-forward layer.
        dropout: dropout of the attention weights and of both sublayers' outputs.

    ``forward(x: (B, T, dim), mask: (B, T)) -> (B, T, dim)``, zeros at padding.
    """

    def __init__(self, dim: int, heads: int, ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        positive_int("ff", ff)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.ReLU(), nn.Linear(ff, dim))
        self.norm2 = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        keep = mask.to(torch.bool)
        h = self.norm1(x + self.drop(self.attn(x, x, x, keep)))
        out = self.norm2(h + self.drop(self.ff(h)))
        return out.masked_fill(~keep.unsqueeze(-1), 0.0)
