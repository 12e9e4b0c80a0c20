"""Low-rank Multimodal Fusion (Liu et al., ACL 2018), utterance by utterance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from lmam.fusion.registry import register_fusion
from lmam.fusion.tfn import TensorFamilyFusion, one_pad
from lmam.nn.options import positive_int


class LowRankFusion(nn.Module):
    """The TFN fusion layer with its weight in rank-``r`` CP form, never forming the product.

    With modality-specific factors ``F_m: (r, h_m + 1, out)``, fusion weights
    ``w: (r,)`` and a bias ``b: (out,)``::

        out = sum_k w_k * prod_m ([z_m; 1] @ F_m[k]) + b

    which equals ``W vec([z_1; 1] (x) ... (x) [z_M; 1]) + b`` for the TFN weight
    ``W[o, i_1, ..., i_M] = sum_k w_k prod_m F_m[k, i_m, o]``.

    Args:
        widths: ``{modality: h_m}``, the widths of the ``z_m`` (before one-padding).
        out_dim: output width.
        rank: the CP rank ``r``.
    """

    def __init__(self, widths: Mapping[str, int], out_dim: int, rank: int) -> None:
        super().__init__()
        self.rank = positive_int("rank", rank)
        self.modalities = tuple(widths)  # ParameterDict sorts plain-dict keys: keep the order here
        self.factors = nn.ParameterDict(
            {m: nn.Parameter(torch.empty(rank, w + 1, out_dim)) for m, w in widths.items()}
        )
        self.weights = nn.Parameter(torch.empty(rank))
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # each [z; 1] @ F_m[k] of about unit variance, their weighted sum too
        for factor in self.factors.values():
            nn.init.normal_(factor, std=1.0 / math.sqrt(factor.shape[1]))
        nn.init.normal_(self.weights, std=1.0 / math.sqrt(self.rank))
        nn.init.zeros_(self.bias)

    def terms(self, zs: Sequence[Tensor]) -> list[Tensor]:
        """Per-modality rank terms.

        Args:
            zs: ``(..., h_m)`` each, in the order of ``widths``.

        Returns:
            ``[z_m; 1] @ F_m``: ``(..., r, out)`` each.
        """
        return [
            torch.einsum("...i,kio->...ko", one_pad(z), self.factors[m])
            for m, z in zip(self.modalities, zs)
        ]

    def combine(self, terms: Sequence[Tensor]) -> Tensor:
        """Product over modalities, weighted sum over rank, bias.

        Args:
            terms: ``(..., r, out)`` each.

        Returns:
            ``(..., out)``.
        """
        prod = terms[0]
        for term in terms[1:]:
            prod = prod * term
        return torch.einsum("...ko,k->...o", prod, self.weights) + self.bias

    def forward(self, zs: Sequence[Tensor]) -> Tensor:
        """Args: zs: ``(..., h_m)`` each. Returns: ``(..., out)``."""
        return self.combine(self.terms(zs))


@register_fusion("lmf")
class LMFFusion(TensorFamilyFusion):
    """Low-rank Multimodal Fusion: TFN with a rank-``r`` weight, without the outer product.

    Paper: Liu et al., "Efficient Low-rank Multimodal Fusion with
    Modality-Specific Factors" (ACL 2018). For every utterance::

        z_m = ReLU(Linear_m(x_m))
        out = ReLU(sum_k w_k prod_m ([z_m; 1] @ F_m[k]) + b)

    (see :class:`LowRankFusion`). Cost is linear in the number of modalities
    instead of exponential.

    Departures from the paper: the same unimodal subnetworks and output ReLU
    as our :class:`~lmam.fusion.tfn.TensorFusion` (the paper uses an LSTM
    for text and has no activation after the fusion), so that an LMF is
    exactly a TFN whose fusion weight has CP rank ``r`` (the tests check
    this); applied utterance by utterance, so there is no context and padding
    cannot leak.

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        rank: the CP rank ``r`` (the paper finds 4 works well).
        **options: ``hidden`` (default 16), ``activation``, ``dropout`` of
            :class:`~lmam.fusion.tfn.TensorFamilyFusion`.
    """

    def __init__(
        self, in_dims: Mapping[str, int], out_dim: int, *, rank: int = 4, **options: object
    ) -> None:
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        self.fusion = LowRankFusion(dict.fromkeys(self.modalities, self.hidden), out_dim, rank)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        return self.finish(self.fusion(self.proj(xs)), keep)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.fusion.rank}"
