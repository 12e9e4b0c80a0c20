"""The self-attention reference that LMAM is compared with (design note)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from lmam.fusion.registry import register_fusion
from lmam.nn.cross_attention import CrossModalAttention


@register_fusion("self_attention")
class SelfAttentionFusion(CrossModalAttention):
    """Scaled dot-product attention with dense ``W^Q, W^K, W^V`` per modality.

    Steps 1 and 4-6 are LMAM's (one-padding, aggregation, residual LayerNorm,
    output projection, combine); steps 2-3 are Vaswani et al.'s attention::

        A_ij = softmax_valid(s (xi_i W^Q_i + b) (xi_j W^K_j + b)^T) (xi_j W^V_j + b)

    Each of ``W^Q, W^K, W^V`` is a ``(d+1, d+1)`` ``Linear`` with bias, so
    LMAM with ``query="full"`` has exactly one third of its attention weights.

    Args:
        in_dims, out_dim, **options: as :class:`~lmam.nn.cross_attention.CrossModalAttention`.
    """

    def __init__(self, in_dims: Mapping[str, int], out_dim: int, **options: object) -> None:
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        width = self.dim + 1
        self.wq = nn.ModuleDict({m: nn.Linear(width, width) for m in self.modalities})
        self.wk = nn.ModuleDict({m: nn.Linear(width, width) for m in self.modalities})
        self.wv = nn.ModuleDict({m: nn.Linear(width, width) for m in self.modalities})

    def _per_modality(self, layers: nn.ModuleDict, xs: list[Tensor]) -> list[Tensor]:
        """Args: xs: per modality ``(B, T, d+1)``. Returns: per modality ``(B, T, d+1)``."""
        return [layers[m](x) for m, x in zip(self.modalities, xs)]

    def _modality_major(self, xi: Tensor) -> list[Tensor]:
        """``(B, M, T, d+1)`` -> per modality a contiguous ``(B, T, d+1)`` (one copy),
        so that the projections read plain matrices."""
        return list(xi.transpose(0, 1).contiguous().unbind(0))

    steps = True

    def step_parts(self, xi: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
        """See :meth:`CrossModalAttention.step_parts`: ``W^Q``, ``W^K`` and ``W^V`` of every row."""
        xs = self._modality_major(xi)
        keys = torch.stack(self._per_modality(self.wk, xs), 1)
        values = torch.stack(self._per_modality(self.wv, xs), 1)
        return self._per_modality(self.wq, xs), [keys] * len(xs), values

    def scores_and_values(self, xi: Tensor, scale: Tensor | float) -> tuple[list[Tensor], Tensor]:
        """Args: xi: ``(B, M, T, d+1)``; scale: float or ``(B, 1, 1)``.
        Returns: per target modality ``(B, T, n, T)``, and the values ``(B, M, T, d+1)``."""
        queries, keys, values = self.step_parts(xi)
        return self.shared_key_scores(queries, keys[0], scale), values
