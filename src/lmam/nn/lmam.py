"""The Low-rank Matching Attention Method (LMAM), batched.

Paper: Shou et al., "A Low-rank Matching Attention based Cross-modal Feature
Fusion Method for Conversational Emotion Recognition" (Section IV,
Algorithm 1), read as in the project's design note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, cast

import torch
from torch import Tensor, nn

from lmam.nn.cross_attention import CrossModalAttention
from lmam.nn.lowrank import LowRankLinear
from lmam.space import Float, Int, SearchSpace

QUERIES = ("lowrank", "full")
ACTIVATIONS = ("tanh", "none")


class LMAM(CrossModalAttention):
    """Low-rank matching attention fusion.

    For every target modality ``i`` and source ``j`` in ``S(i)``::

        Q_i  = xi_i U_i V_i^T + b_i              (query="lowrank"; "full": xi_i W_i + b_i)
        A_ij = softmax_valid(tanh(s Q_i xi_j^T)) xi_j     (activation="none": no tanh)
        A_i  = sum_j A_ij                        (or the mean)
        O_i  = ReLU(Linear_i(LayerNorm(A_i + xi_i)))       (output="norm_relu", the paper's)

    with ``xi_m = [x_m; 1]``. Keys and values are the one-padded features
    themselves: the query is the only attention weight. With a rank-``r``
    query the scores are computed as ``(xi_i U_i)(xi_j V_i)^T + xi_j b_i``: one
    product with an inner dimension of ``r + 1`` (the bias rides on the
    one-padding), rounded up to a multiple of 8 with zero columns; neither
    ``U_i V_i^T`` nor the ``(d+1)``-wide query is ever formed. Every
    utterance of every dialogue is processed at once (no loop over utterances);
    :func:`lmam.nn.reference.lmam_rowwise` is the row-by-row definition it equals.

    Args:
        in_dims: ``{modality: width}``, in the fixed modality order.
        out_dim: width ``d_out`` of each modality's output projection.
        rank: rank ``r`` of the query weight (the paper uses 45).
        query: ``"lowrank"`` or ``"full"`` (a dense ``(d+1, d+1)`` weight).
        activation: of the scores, ``"tanh"`` (the matching attention's) or ``"none"``.
        **options: ``dim``, ``sources``, ``scale``, ``context``, ``residual``,
            ``aggregate``, ``combine``, ``dropout``, ``output`` of
            :class:`~lmam.nn.cross_attention.CrossModalAttention`; LMAM's
            default ``dim`` is the *narrowest* input width (wider modalities
            get an input projection), chosen for the plug-in cost (at most
            0.62 M added parameters, ``python -m bench.backbones``), not by accuracy.
    """

    space: ClassVar[SearchSpace] = {"rank": Int(5, 100, step=5), "dropout": Float(0.0, 0.5)}
    """What ``lmam tune`` searches: the options a user of LMAM tunes. Its formulation
    (``query``, ``scale``, ``activation``, ``output``, ``sources``) stays the paper's
    unless a study's space says otherwise (the design study's does)."""

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        rank: int = 45,
        query: str = "lowrank",
        activation: str = "tanh",
        **options: object,
    ) -> None:
        if options.get("dim") is None:
            options["dim"] = min(in_dims.values(), default=1)
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        if query not in QUERIES:
            raise ValueError(f"query must be one of {QUERIES}, got {query!r}")
        self.query_type = query
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.score_activation = activation
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

    @staticmethod
    def default_out_dim(in_dims: Mapping[str, int]) -> int:
        """The output width a model gives LMAM when none is set: the narrowest
        input width (keeps the output projections, and a backbone's residual
        projection, no wider than any input; chosen for parameter cost)."""
        return min(in_dims.values())

    def scores_and_values(self, xi: Tensor, scale: Tensor | float) -> tuple[list[Tensor], Tensor]:
        """Args: xi: ``(B, M, T, d+1)``; scale: float or ``(B, 1, 1)``.
        Returns: ``s Q_i xi_j^T`` per target modality ``i``, ``(B, T, n, T)``, and
        the values, which are the one-padded features themselves: ``xi``."""
        return self.attention_scores(xi, scale), xi

    steps = True

    def step_parts(self, xi: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
        """See :meth:`CrossModalAttention.step_parts`: the values are ``xi``."""
        if self.query_type == "full":
            return self._full_queries(xi), [xi] * len(self.modalities), xi
        q, k = self._lowrank_sides(xi)
        return q, list(k.unbind(3)), xi

    def _full_queries(self, xi: Tensor) -> list[Tensor]:
        """Args: xi: ``(B, M, T, d+1)``. Returns: ``Q_i`` per target, ``(B, T, d+1)``."""
        return [self.query[name](x) for name, x in zip(self.modalities, xi.unbind(1))]

    def attention_scores(self, xi: Tensor, scale: Tensor | float) -> list[Tensor]:
        """Args: xi: ``(B, M, T, d+1)``; scale: float or ``(B, 1, 1)``.
        Returns: ``s Q_i xi_j^T`` per target modality ``i``: ``(B, T, n, T)``."""
        if self.query_type == "full":
            return self.shared_key_scores(self._full_queries(xi), xi, scale)
        b, _, t, _ = xi.shape
        q, k = self._lowrank_sides(xi)
        return [
            torch.bmm(q_i * scale, self.sources_of(k_i, i).transpose(1, 2)).view(b, t, -1, t)
            for i, (q_i, k_i) in enumerate(zip(q, k.unbind(3)))
        ]

    def _lowrank_sides(self, xi: Tensor) -> tuple[list[Tensor], Tensor]:
        """The two sides of the rank-``r`` scores.

        Args:
            xi: ``(B, M, T, d+1)``.

        Returns:
            The query side ``xi_i [U_i, e, 0]`` per target ``i``, ``(B, T, r')``, and
            the key side ``xi_j [V_i, b_i, 0]`` of every source ``j`` and target ``i``,
            ``(B, M, T, M, r')`` (``r'``: ``r + 1`` rounded up to a multiple of 8).
        """
        b, m, t, w = xi.shape
        layers = [cast(LowRankLinear, self.query[name]) for name in self.modalities]
        # inner width r + 1, rounded up to a multiple of 8 with zero columns: the
        # matrix kernels run such widths faster (the key-side product at the
        # benchmark's shapes, 144 columns against 138, by about a fifth on our CPU)
        r = -(-(self.rank + 1) // 8) * 8
        fill = xi.new_zeros(w, r - self.rank)
        fill[-1, 0] = 1.0  # picks the one-padding, the last column of xi
        # query side, s xi_i [U_i, e, 0]: e multiplies the bias term of the key side;
        # one (B, T, d+1) @ (d+1, r) product per modality, reading xi in place
        q = [
            torch.bmm(x, torch.cat([layer.U, fill], dim=1).expand(b, w, r))
            for layer, x in zip(layers, xi.unbind(1))
        ]
        # key side of every (source j, target i) pair, xi_j [V_i, b_i, 0], in one matmul
        v = torch.cat(
            [
                torch.cat([layer.V, cast(Tensor, layer.bias)[:, None], fill[:, 1:]], 1)
                for layer in layers
            ],
            dim=1,
        )
        return q, (xi.reshape(b * m * t, w) @ v).view(b, m, t, m, r)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, dim={self.dim}, rank={self.rank}, query={self.query_type!r}, "
            f"sources={self.sources!r}, context={self.context!r}, scale={self.scale!r}, "
            f"residual={self.residual!r}, aggregate={self.aggregate!r}, combine={self.combine!r}, "
            f"activation={self.score_activation!r}, output={self.output!r}"
        )
