"""Machinery shared by LMAM and its self-attention reference.

Both fuse ``M`` modalities the same way (design note, steps 1 and 3-6): every
modality is one-padded to ``xi_m = [x_m; 1]`` of width ``d + 1``; each target
modality ``i`` attends over the utterances of each source modality ``j`` in
``S(i)``; the per-source outputs are aggregated; then
``E_i = LayerNorm(A_i + xi_i)``, ``O_i = ReLU(Linear_i(E_i))``, dropout, and the
modalities are combined. Subclasses supply the attention scores and values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.nn.base import FusionModule
from lmam.nn.masking import check_context, context_mask
from lmam.nn.options import choice

SOURCES = ("all", "inter", "intra")
RESIDUALS = ("identity", "gelu")
AGGREGATES = ("sum", "mean")
COMBINES = ("sum", "concat")
SCALES = ("dim", "length", "none")


def source_index(num_modalities: int, sources: str) -> Tensor:
    """Source modalities of every target modality.

    Returns:
        ``(M, n)`` long tensor: row ``i`` lists ``S(i)`` in modality order.
    """
    m = num_modalities
    if sources == "all":
        return torch.arange(m).repeat(m, 1)
    if sources == "intra":
        return torch.arange(m).unsqueeze(1)
    if m < 2:
        raise ValueError("sources='inter' needs at least two modalities")
    return torch.tensor([[j for j in range(m) if j != i] for i in range(m)])


class CrossModalAttention(FusionModule):
    """Base of LMAM and the self-attention fusion (see the module docstring).

    Args:
        in_dims: ``{modality: width}``, in the fixed modality order.
        out_dim: output width of each modality's projection ``d_out``. The
            fused width (attribute ``out_dim``) is ``d_out`` for
            ``combine="sum"`` and ``M * d_out`` for ``combine="concat"``.
        dim: common width ``d``. ``None``: the common input width, or the
            largest one when they differ. Modalities of another width get a
            ``Linear(d_m, d)`` in front.
        sources: ``"all"`` (intra- and inter-modal), ``"inter"`` or ``"intra"``.
        scale: score scale ``s``: ``"dim"`` (``1/sqrt(d+1)``), ``"length"``
            (``1/sqrt(T_valid)`` per dialogue), ``"none"`` (1) or a float.
        context: ``"full"``, ``"causal"`` or an int window ``w``.
        residual: ``"identity"`` (``A_i + xi_i``) or ``"gelu"`` (``A_i + GELU(xi_i)``).
        aggregate: ``"sum"`` or ``"mean"`` over the sources.
        combine: ``"sum"`` or ``"concat"`` over the modalities.
        dropout: dropout probability after the output projection.
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        dim: int | None = None,
        sources: str = "all",
        scale: str | float = "dim",
        context: str | int = "full",
        residual: str = "identity",
        aggregate: str = "sum",
        combine: str = "sum",
        dropout: float = 0.0,
    ) -> None:
        combine = choice("combine", combine, COMBINES)
        super().__init__(in_dims, out_dim * len(in_dims) if combine == "concat" else out_dim)
        self.sources = choice("sources", sources, SOURCES)
        self.residual = choice("residual", residual, RESIDUALS)
        self.aggregate = choice("aggregate", aggregate, AGGREGATES)
        self.combine = combine
        self.context = check_context(context)
        if isinstance(scale, str):
            choice("scale", scale, SCALES)
        elif not isinstance(scale, (int, float)) or isinstance(scale, bool):
            raise ValueError(f"scale must be one of {SCALES} or a number, got {scale!r}")
        self.scale = scale
        widths = set(self.in_dims.values())
        d = dim if dim is not None else max(widths)
        if d <= 0:
            raise ValueError(f"dim must be a positive int, got {d}")
        self.dim = d
        self.d_out = out_dim
        self.register_buffer(
            "src", source_index(len(self.modalities), self.sources), persistent=False
        )
        self.proj = nn.ModuleDict({m: nn.Linear(w, d) for m, w in self.in_dims.items() if w != d})
        self.norm = nn.ModuleDict({m: nn.LayerNorm(d + 1) for m in self.modalities})
        self.out = nn.ModuleDict({m: nn.Linear(d + 1, out_dim) for m in self.modalities})
        self.drop = nn.Dropout(dropout)

    src: Tensor  # (M, n) source modalities of every target, a buffer

    # -- hooks for subclasses ------------------------------------------------
    def attention_scores(self, xi: Tensor, scale: Tensor | float) -> Tensor:
        """Scaled scores ``(B, M, T, n, T)``: target, query utterance, source, key utterance.

        Args:
            xi: ``(B, M, T, d+1)``.
            scale: from :meth:`score_scale`; applied on the thin query side,
                before the product, rather than on the scores.
        """
        raise NotImplementedError

    def values(self, xi: Tensor) -> Tensor:
        """What the weights average, per source modality: ``(B, M, T, d_v)``."""
        raise NotImplementedError

    score_activation: str = "none"  # "tanh" for matching attention

    # -- shared steps ------------------------------------------------------------
    def one_pad(self, feats: Mapping[str, Tensor], mask: Tensor) -> tuple[Tensor, Tensor]:
        """Check inputs, project to the common width and one-pad.

        Returns:
            ``xi``: ``(B, M, T, d+1)`` and the boolean mask ``(B, T)``.
        """
        xs, keep = self.prepare(feats, mask)
        first = xs[0]
        xi = first.new_ones(first.shape[0], len(xs), first.shape[1], self.dim + 1)
        for i, (name, x) in enumerate(zip(self.modalities, xs)):
            xi[:, i, :, : self.dim] = self.proj[name](x) if name in self.proj else x
        return xi, keep

    def score_scale(self, keep: Tensor) -> Tensor | float:
        """The scale ``s``: a float, or ``(B, 1, 1, 1)`` for ``scale="length"``
        (broadcasting over a ``(B, M, T, k)`` query side)."""
        if self.scale == "dim":
            return 1.0 / math.sqrt(self.dim + 1)
        if self.scale == "none":
            return 1.0
        if self.scale == "length":
            valid = keep.sum(dim=1).clamp(min=1).to(torch.get_default_dtype())
            return valid.rsqrt().view(-1, 1, 1, 1)
        return float(self.scale)

    def select_pairs(self, per_pair: Tensor) -> Tensor:
        """``(B, M, M, ...)`` indexed by (target, source) -> ``(B, M, n, ...)``."""
        if self.sources == "all":
            return per_pair
        rows = torch.arange(len(self.modalities), device=per_pair.device).unsqueeze(1)
        return per_pair[:, rows, self.src]

    def shared_key_scores(self, query: Tensor, key: Tensor) -> Tensor:
        """Scores when keys depend on the source only.

        Args:
            query: ``(B, M, T, k)`` per target modality.
            key: ``(B, M, T, k)`` per source modality.

        Returns:
            ``(B, M, T, n, T)``.
        """
        b, m, t, k = query.shape
        if self.sources == "all":
            full = query.reshape(b, m * t, k) @ key.reshape(b, m * t, k).transpose(1, 2)
            return full.view(b, m, t, m, t)
        keys = key[:, self.src]  # (B, M, n, T, k)
        n = keys.shape[2]
        s = query.reshape(b * m, t, k) @ keys.reshape(b * m, n * t, k).transpose(1, 2)
        return s.view(b, m, t, n, t)

    def residual_of(self, xi: Tensor) -> Tensor:
        """The residual branch: ``xi`` or ``GELU(xi)``, ``(B, M, T, d+1)``."""
        return F.gelu(xi) if self.residual == "gelu" else xi

    def attend(self, scores: Tensor, values: Tensor, keep: Tensor, residual: Tensor) -> Tensor:
        """Masked softmax over key utterances, the aggregated weighted values, plus the residual.

        Args:
            scores: ``(B, M, T, n, T)``.
            values: ``(B, M, T, d+1)`` per source modality.
            keep: ``(B, T)`` boolean.
            residual: ``(B, M, T, d+1)``, added in the same matmul (``baddbmm``).

        Returns:
            ``A + residual``: ``(B, M, T, d+1)``.
        """
        b, m, t, n, _ = scores.shape
        if self.score_activation == "tanh":
            scores = torch.tanh(scores)
        allowed = keep.view(b, 1, 1, 1, t)
        ctx = context_mask(t, self.context, device=scores.device)
        if ctx is not None:
            allowed = allowed & ctx.view(1, 1, t, 1, t)
        # A real query always has a real key (its own utterance is in every
        # context), so only padded query rows are fully masked; their output is
        # zeroed in finish(). That saves masked_softmax's pass re-zeroing them.
        alpha = torch.softmax(scores.masked_fill(~allowed, torch.finfo(scores.dtype).min), dim=-1)
        d_v = values.shape[-1]
        weight = 1.0 / n if self.aggregate == "mean" else 1.0
        if self.sources == "all":
            res = residual.reshape(b, m * t, d_v)
            out = torch.baddbmm(
                res, alpha.reshape(b, m * t, m * t), values.reshape(b, m * t, d_v), alpha=weight
            )
        else:
            vals = values[:, self.src].reshape(b * m, n * t, d_v)
            res = residual.reshape(b * m, t, d_v)
            out = torch.baddbmm(res, alpha.reshape(b * m, t, n * t), vals, alpha=weight)
        return out.view(b, m, t, d_v)

    def finish(self, summed: Tensor, keep: Tensor) -> Tensor:
        """LayerNorm, output projection, dropout, combine, zero padding.

        Args:
            summed: ``A + residual``: ``(B, M, T, d+1)``.
            keep: ``(B, T)``.

        Returns:
            ``(B, T, out_dim)``.
        """
        outs = []
        # unbind, not [:, i]: its backward stacks the pieces instead of zero-filling
        # a full-size gradient for every modality
        for name, e in zip(self.modalities, summed.unbind(1)):
            outs.append(self.drop(F.relu(self.out[name](self.norm[name](e)))))
        fused = torch.cat(outs, dim=-1) if self.combine == "concat" else torch.stack(outs).sum(0)
        return fused.masked_fill(~keep.unsqueeze(-1), 0.0)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Fuse.

        Args:
            feats: ``{modality: (B, T, D_m)}``.
            mask: ``(B, T)``, nonzero at real utterances.

        Returns:
            ``(B, T, out_dim)``; zero at padded utterances.
        """
        xi, keep = self.one_pad(feats, mask)
        scores = self.attention_scores(xi, self.score_scale(keep))
        return self.finish(self.attend(scores, self.values(xi), keep, self.residual_of(xi)), keep)
