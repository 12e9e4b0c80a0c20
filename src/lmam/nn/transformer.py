"""A post-norm Transformer encoder layer over padded conversations.

Used by the dialogue-level Transformers of M2FNet and EmoCaps' Emoformer. Its
attention is :class:`~lmam.nn.attention.MaskedMultiheadAttention`: padded keys
get exactly zero weight, so the batch equals each dialogue alone (tested
against a plain per-dialogue reference).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lmam.nn.attention import MaskedMultiheadAttention
from lmam.nn.options import positive_int


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
        self.attn = MaskedMultiheadAttention(dim, heads, dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.ReLU(), nn.Linear(ff, dim))
        self.norm2 = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        keep = mask.to(torch.bool)
        h = self.norm1(x + self.drop(self.attn(x, x, keep.unsqueeze(1))))
        out = self.norm2(h + self.drop(self.ff(h)))
        return out.masked_fill(~keep.unsqueeze(-1), 0.0)
