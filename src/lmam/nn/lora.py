"""A frozen ``nn.Linear`` with a trainable low-rank adapter (LoRA, Hu et al., ICLR 2022)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LoRALinear(nn.Module):
    """``y = x W^T + b + s * (x A^T) B^T`` with ``W, b`` frozen and ``A, B`` trainable.

    ``A: (r, in)`` starts Gaussian and ``B: (out, r)`` starts at zero, as in
    the paper, so the layer starts as the frozen one exactly; ``s = alpha / r``.
    ``W`` and ``b`` are parameters with ``requires_grad=False`` under the
    names ``weight`` and ``bias``, so that without the ``lora_`` entries the
    state dict is the base ``nn.Linear``'s.

    Note that with ``B = 0`` the gradient of ``A`` (``s * B^T (...)``) is
    exactly zero at the first step: ``B`` moves first, then ``A``.

    Args:
        base: the linear layer to adapt (its weights are copied, then frozen).
        rank: the adapter rank ``r``.
        alpha: the scale numerator; ``None``: ``alpha = r`` (``s = 1``).
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float | None = None) -> None:
        super().__init__()
        if not isinstance(rank, int) or isinstance(rank, bool) or rank <= 0:
            raise ValueError(f"rank must be a positive int, got {rank!r}")
        self.in_features = base.in_features
        self.out_features = base.out_features
        self.rank = rank
        self.alpha = float(rank if alpha is None else alpha)
        self.scaling = self.alpha / rank
        self.weight = nn.Parameter(base.weight.detach().clone(), requires_grad=False)
        self.bias = (
            nn.Parameter(base.bias.detach().clone(), requires_grad=False)
            if base.bias is not None
            else None
        )
        self.lora_A = nn.Parameter(torch.empty(rank, self.in_features))
        self.lora_B = nn.Parameter(torch.zeros(self.out_features, rank))
        nn.init.normal_(self.lora_A, std=1.0 / math.sqrt(self.in_features))

    def delta_weight(self) -> Tensor:
        """``s * B A``: ``(out, in)``, the update the adapter adds to ``W``."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def merged_weight(self) -> Tensor:
        """``W + s * B A``: ``(out, in)``."""
        return self.weight + self.delta_weight()

    def forward(self, x: Tensor) -> Tensor:
        """Args: x: ``(..., in)``. Returns: ``(..., out)``. ``W + s B A`` is never formed."""
        return F.linear(x, self.weight, self.bias) + self.scaling * (
            (x @ self.lora_A.T) @ self.lora_B.T
        )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"rank={self.rank}, alpha={self.alpha}, bias={self.bias is not None}"
        )
