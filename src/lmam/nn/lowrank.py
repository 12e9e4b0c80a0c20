"""A linear map whose weight is a rank-``r`` product ``U V^T``."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class LowRankLinear(nn.Module):
    """``y = x U V^T + b`` with ``U: (in, r)`` and ``V: (out, r)``.

    The weight ``W = U V^T`` (shape ``(in, out)``, acting on row vectors) is
    never formed in :meth:`forward`: the input goes through two thin matmuls.
    ``U`` and ``V`` are initialised so that ``W`` has the variance of an
    ``nn.Linear`` weight of the same shape.

    Args:
        in_features: input width.
        out_features: output width.
        rank: the rank ``r`` of the weight.
        bias: learn an additive bias ``b: (out,)``.
    """

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool = True) -> None:
        super().__init__()
        if rank <= 0:
            raise ValueError(f"rank must be a positive int, got {rank}")
        self.in_features = in_features
        self.out_features = out_features
        self.rank = rank
        self.U = nn.Parameter(torch.empty(in_features, rank))
        self.V = nn.Parameter(torch.empty(out_features, rank))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_features)
        nn.init.uniform_(self.U, -bound, bound)
        nn.init.uniform_(self.V, -math.sqrt(3.0 / self.rank), math.sqrt(3.0 / self.rank))
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def weight(self) -> Tensor:
        """The dense weight ``U V^T``, shape ``(in, out)`` (for checks; costly)."""
        return self.U @ self.V.T

    def forward(self, x: Tensor) -> Tensor:
        """Args: x: ``(..., in)``. Returns: ``(..., out)``."""
        y = (x @ self.U) @ self.V.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"rank={self.rank}, bias={self.bias is not None}"
        )
