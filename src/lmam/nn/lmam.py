"""The Low-rank Matching Attention Method (LMAM), batched.

Paper: Shou et al., "A Low-rank Matching Attention based Cross-modal Feature
Fusion Method for Conversational Emotion Recognition" (Section IV,
Algorithm 1), read as in the project's design note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.nn.cross_attention import CrossModalAttention
from lmam.nn.lowrank import LowRankLinear

QUERIES = ("lowrank", "full")


class LMAM(CrossModalAttention):
    """Low-rank matching attention fusion.

    For every target modality ``i`` and source ``j`` in ``S(i)``::

        Q_i  = xi_i U_i V_i^T + b_i              (query="lowrank"; "full": xi_i W_i + b_i)
        A_ij = softmax_valid(tanh(s Q_i xi_j^T)) xi_j
        A_i  = sum_j A_ij                        (or the mean)
        O_i  = ReLU(Linear_i(LayerNorm(A_i + xi_i)))

    with ``xi_m = [x_m; 1]``. Keys and values are the one-padded features
    themselves: the query is the only attention weight. With a rank-``r``
    query the scores are computed as ``(xi_i U_i)(xi_j V_i)^T + xi_j b_i`` with
    an inner dimension of ``r + 1``; ``U_i V_i^T`` is never formed. Every
    utterance of every dialogue is processed at once (no loop over utterances);
    :func:`lmam.nn.reference.lmam_rowwise` is the row-by-row definition it equals.

    Args:
        in_dims: ``{modality: width}``, in the fixed modality order.
        out_dim: width ``d_out`` of each modality's output projection.
        rank: rank ``r`` of the query weight (the paper uses 45).
        query: ``"lowrank"`` or ``"full"`` (a dense ``(d+1, d+1)`` weight).
        **options: ``dim``, ``sources``, ``scale``, ``context``, ``residual``,
            ``aggregate``, ``combine``, ``dropout`` of
            :class:`~lmam.nn.cross_attention.CrossModalAttention`.

    Shapes:
        ``forward(feats: {m: (B, T, D_m)}, mask: (B, T)) -> (B, T, out_dim)``.
    """

    score_activation = "tanh"

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        rank: int = 45,
        query: str = "lowrank",
        **options: object,
    ) -> None:
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        if query not in QUERIES:
            raise ValueError(f"query must be one of {QUERIES}, got {query!r}")
        self.query_type = query
        self.rank = rank
        width = self.dim + 1
        self.query = nn.ModuleDict(
            {
                m: LowRankLinear(width, width, rank)
                if query == "lowrank"
                else nn.Linear(width, width)
                for m in self.modalities
            }
        )

    def attention_scores(self, xi: Tensor, scale: Tensor | float) -> Tensor:
        """Args: xi: ``(B, M, T, d+1)``; scale: float or ``(B, 1, 1, 1)``.
        Returns: ``s Q_i xi_j^T``: ``(B, M, T, n, T)``."""
        if self.query_type == "full":
            q = torch.stack([self.query[m](xi[:, i]) for i, m in enumerate(self.modalities)], 1)
            return self.shared_key_scores(q * scale, xi)
        layers = [cast(LowRankLinear, self.query[m]) for m in self.modalities]
        u = torch.stack([q.U for q in layers])  # (M, d+1, r)
        # V with the bias as one more column: (M, d+1, r+1)
        v = torch.stack([torch.cat([q.V, cast(Tensor, q.bias)[:, None]], dim=1) for q in layers])
        q_side = F.pad(torch.einsum("bmtd,mdr->bmtr", xi, u), (0, 1), value=1.0) * scale
        # key side of every (target i, source j) pair: xi_j [V_i, b_i]
        k_side = self.select_pairs(torch.einsum("bjsd,idr->bijsr", xi, v))  # (B, M, n, T, r+1)
        b, m, t, k = q_side.shape
        n = k_side.shape[2]
        s = q_side.reshape(b * m, t, k) @ k_side.reshape(b * m, n * t, k).transpose(1, 2)
        return s.view(b, m, t, n, t)

    def values(self, xi: Tensor) -> Tensor:
        """Keys and values are the one-padded features: ``(B, M, T, d+1)``."""
        return xi

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, dim={self.dim}, rank={self.rank}, query={self.query_type!r}, "
            f"sources={self.sources!r}, context={self.context!r}, scale={self.scale!r}, "
            f"residual={self.residual!r}, aggregate={self.aggregate!r}, combine={self.combine!r}"
        )
