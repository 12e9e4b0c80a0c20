"""The ``"authors_code"`` option set of LMAM: the fusion step of the authors'
public code, for comparison with the paper's equations (design note,
"Known departures of the authors' public code").

Only the fusion step is reproduced, batched; nothing of it is taken over into
:class:`lmam.nn.LMAM`, whose defaults follow the paper.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.nn.fusion_module import FusionModule
from lmam.nn.masking import masked_softmax


class AuthorsCodeLMAM(FusionModule):
    """Matching attention as the authors' public code fuses modalities.

    With ``x_0`` the memory modality (the first in ``in_dims``: text by
    convention) and one query ``W, b`` shared by every modality::

        A_m = softmax_valid(tanh((x_m W^T + b) x_0^T)) x_0     for every modality m
        O   = GELU(sum_m A_m) + x_0

    Compared with :class:`lmam.nn.LMAM` there are no low-rank factors, no
    one-padding, no score scale, no LayerNorm and no per-modality output
    projection; keys and values are always the memory modality's features,
    and the residual goes to it alone. Context is the whole dialogue. The query
    weight is initialised from ``N(0, 0.01^2)``, as in that code.

    Our additions, which the contract needs: a ``Linear(d_m, d)`` in front of a
    modality whose width is not the common width ``d``, and a ``Linear(d,
    out_dim)`` after the sum when ``out_dim != d`` (that code passes the
    ``d``-wide sum on as it is).

    Args:
        in_dims: ``{modality: width}``, in the fixed modality order; the first
            is the memory (keys, values and residual).
        out_dim: output width.
        dim: common width ``d``; ``None``: the memory modality's width.
    """

    def __init__(self, in_dims: Mapping[str, int], out_dim: int, *, dim: int | None = None) -> None:
        super().__init__(in_dims, out_dim)
        d = dim if dim is not None else next(iter(self.in_dims.values()))
        if d <= 0:
            raise ValueError(f"dim must be a positive int, got {d}")
        self.dim = d
        self.proj = nn.ModuleDict({m: nn.Linear(w, d) for m, w in self.in_dims.items() if w != d})
        self.query = nn.Linear(d, d)
        nn.init.normal_(self.query.weight, std=0.01)
        self.out = nn.Linear(d, out_dim) if out_dim != d else None

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        real = keep.unsqueeze(-1)
        xs = [
            torch.where(real, self.proj[m](x), 0.0) if m in self.proj else x
            for m, x in zip(self.modalities, xs)
        ]
        memory = xs[0]  # (B, T, d)
        b, t, d = memory.shape
        stacked = torch.stack(xs, 1).view(b, -1, d)  # (B, M*T, d)
        scores = torch.tanh(self.query(stacked) @ memory.transpose(1, 2))  # (B, M*T, T)
        pooled = masked_softmax(scores, keep.unsqueeze(1)) @ memory  # (B, M*T, d)
        fused = F.gelu(pooled.view(b, -1, t, d).sum(1)) + memory
        if self.out is not None:
            fused = self.out(fused)
        return torch.where(real, fused, 0.0)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dim={self.dim}, memory={self.modalities[0]!r}"
