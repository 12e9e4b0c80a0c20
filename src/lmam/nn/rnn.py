"""A bidirectional LSTM or GRU over padded conversations, without packing.

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

from lmam.nn.options import choice


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


CELLS = ("lstm", "gru", "gru_keras2")
"""``gru_keras2`` is Keras 2's GRU (before Keras 2.3, the Keras of the 2017-2018 ERC
code): the reset gate applied to the state *before* the recurrent product
(``reset_after=False``) and hard-sigmoid gates (``0.2 x + 0.5``, clipped to [0, 1])."""


def hard_sigmoid(x: Tensor) -> Tensor:
    """Keras 2's hard sigmoid: ``clip(0.2 x + 0.5, 0, 1)``."""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def variational_mask(shape: tuple[int, ...], p: float, like: Tensor) -> Tensor:
    """A dropout mask (``0`` or ``1 / (1 - p)``) of ``shape``, to reuse at every time step."""
    keep = torch.empty(shape, dtype=like.dtype, device=like.device).bernoulli_(1.0 - p)
    return keep / (1.0 - p)


def recurrence(rnn: nn.LSTM | nn.GRU, x: Tensor, h_mask: Tensor, keras2: bool = False) -> Tensor:
    """``rnn`` (one layer, batch-first) step by step, with ``h_mask`` applied to the state
    that enters the recurrent weights (variational recurrent dropout).

    Equals ``rnn(x)[0]`` when ``h_mask`` is all ones (tested). ``keras2`` (a GRU
    only): Keras 2's GRU instead (see :data:`CELLS`), on the same parameters.

    Args:
        x: ``(B, T, D)``.
        h_mask: ``(B, H)``.

    Returns:
        ``(B, T, H)`` outputs.
    """
    batch, length, _ = x.shape
    hidden = rnn.hidden_size
    w_ih, b_ih = rnn.get_parameter("weight_ih_l0"), rnn.get_parameter("bias_ih_l0")
    w_hh, b_hh = rnn.get_parameter("weight_hh_l0"), rnn.get_parameter("bias_hh_l0")
    gates_x = torch.nn.functional.linear(x, w_ih, b_ih)  # (B, T, k H)
    h = x.new_zeros(batch, hidden)
    c = x.new_zeros(batch, hidden)
    outs = []
    for t in range(length):
        if keras2:  # reset before the recurrent product, hard-sigmoid gates
            xr, xz, xn = gates_x[:, t].chunk(3, dim=-1)
            wr, wz, wn = w_hh.chunk(3, dim=0)
            br, bz, bn = b_hh.chunk(3, dim=0)
            hm = h * h_mask
            r = hard_sigmoid(xr + torch.nn.functional.linear(hm, wr, br))
            z = hard_sigmoid(xz + torch.nn.functional.linear(hm, wz, bz))
            n = torch.tanh(xn + torch.nn.functional.linear(r * hm, wn, bn))
            h = (1.0 - z) * n + z * h
            outs.append(h)
            continue
        gates_h = torch.nn.functional.linear(h * h_mask, w_hh, b_hh)
        if isinstance(rnn, nn.LSTM):
            i, f, g, o = (gates_x[:, t] + gates_h).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            xr, xz, xn = gates_x[:, t].chunk(3, dim=-1)
            hr, hz, hn = gates_h.chunk(3, dim=-1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h = (1.0 - z) * torch.tanh(xn + r * hn) + z * h
        outs.append(h)
    return torch.stack(outs, dim=1)


class BiRNN(nn.Module):
    """Bidirectional single-layer LSTM or GRU over right-padded sequences.

    Args:
        in_dim: input width.
        hidden: width of each direction.
        cell: ``"lstm"``, ``"gru"``, or ``"gru_keras2"`` (Keras 2's GRU, step by
            step: see :data:`CELLS`).
        input_dropout: dropout of the input features, one mask per dialogue
            and direction reused at every step (variational, as Keras'
            ``dropout`` of a recurrent layer).
        recurrent_dropout: dropout of the state entering the recurrent
            weights, one mask per dialogue and direction reused at every
            step (Keras' ``recurrent_dropout``, Gal and Ghahramani 2016).
            In training it runs step by step (slower); in evaluation, and
            when it is 0, the fused ``nn.LSTM`` / ``nn.GRU`` kernel runs.

    Padding never influences real steps, with or without dropout. Masks come
    from torch's random generator, so a seeded run is deterministic.

    ``forward(x: (B, T, in_dim), mask: (B, T)) -> (B, T, 2 * hidden)``, zeros at padding.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        cell: str = "lstm",
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, p in (("input_dropout", input_dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        self.cell = choice("cell", cell, CELLS)
        kind = nn.LSTM if cell == "lstm" else nn.GRU  # gru_keras2 uses nn.GRU's parameters
        self.fwd = kind(in_dim, hidden, batch_first=True)
        self.bwd = kind(in_dim, hidden, batch_first=True)
        self.hidden = hidden
        self.input_dropout = input_dropout
        self.recurrent_dropout = recurrent_dropout

    def _direction(self, rnn: nn.LSTM | nn.GRU, x: Tensor) -> Tensor:
        if self.training and self.input_dropout > 0:
            x = x * variational_mask((x.shape[0], 1, x.shape[2]), self.input_dropout, x)
        keras2 = self.cell == "gru_keras2"
        if self.training and self.recurrent_dropout > 0:
            h_mask = variational_mask((x.shape[0], self.hidden), self.recurrent_dropout, x)
            return recurrence(rnn, x, h_mask, keras2)
        if keras2:
            return recurrence(rnn, x, x.new_ones(x.shape[0], self.hidden), keras2)
        return rnn(x)[0]

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        keep = mask.to(torch.bool)
        lengths = keep.sum(dim=1)
        forward = self._direction(self.fwd, x)
        backward = self._direction(self.bwd, reverse_padded(x, lengths))
        out = torch.cat([forward, reverse_padded(backward, lengths)], dim=-1)
        return out.masked_fill(~keep.unsqueeze(-1), 0.0)

    def extra_repr(self) -> str:
        return (
            f"cell={self.cell!r}, input_dropout={self.input_dropout}, "
            f"recurrent_dropout={self.recurrent_dropout}"
        )


class BiLSTM(BiRNN):
    """:class:`BiRNN` with LSTM cells: ``BiLSTM(in_dim, hidden, input_dropout=..., ...)``."""

    def __init__(
        self, in_dim: int, hidden: int, input_dropout: float = 0.0, recurrent_dropout: float = 0.0
    ) -> None:
        super().__init__(in_dim, hidden, "lstm", input_dropout, recurrent_dropout)
