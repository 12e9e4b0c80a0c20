"""A bidirectional LSTM over padded conversations, without packing.

``pack_padded_sequence`` makes the CPU backward pass zero and accumulate
full-size gradient buffers at every time step. Here the forward direction
runs on the right-padded batch as it is (padding comes after every real
utterance, so it cannot reach them) and the backward direction runs on each
dialogue reversed *within its own length*, so it also starts at the dialogue's
last real utterance. The result equals a packed bidirectional ``nn.LSTM``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence within its length; padding stays at the end.

    Args:
        x: ``(B, T, D)``.
        lengths: ``(B,)`` numbers of real steps.
    """
    t = x.shape[1]
    pos = torch.arange(t, device=x.device).unsqueeze(0)
    lens = lengths.to(x.device).unsqueeze(1)
    idx = torch.where(pos < lens, lens - 1 - pos, pos)  # (B, T)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


class BiLSTM(nn.Module):
    """Bidirectional single-layer LSTM over right-padded sequences.

    Args:
        in_dim: input width.
        hidden: width of each direction.

    ``forward(x: (B, T, in_dim), mask: (B, T)) -> (B, T, 2 * hidden)``, zeros at padding.
    """

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.fwd = nn.LSTM(in_dim, hidden, batch_first=True)
        self.bwd = nn.LSTM(in_dim, hidden, batch_first=True)
        self.hidden = hidden

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        keep = mask.to(torch.bool)
        lengths = keep.sum(dim=1)
        forward, _ = self.fwd(x)
        backward, _ = self.bwd(reverse_padded(x, lengths))
        out = torch.cat([forward, reverse_padded(backward, lengths)], dim=-1)
        return out.masked_fill(~keep.unsqueeze(-1), 0.0)
