"""Low-rank multimodal fusion with self-attention, Att-LMF (Zhu et al., WCMC 2020)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from lmam.fusion.lmf import LowRankFusion
from lmam.fusion.registry import register_fusion
from lmam.fusion.tfn import TensorFamilyFusion
from lmam.nn.attention import MaskedMultiheadAttention, attention_mask
from lmam.nn.options import choice

ATTENDS = ("modalities", "context")


@register_fusion("att_lmf")
class AttLMFFusion(TensorFamilyFusion):
    """Self-attention on the unimodal representations, then low-rank multimodal fusion.

    Paper: Zhu et al., "Multimodal Fusion Method Based on Self-Attention
    Mechanism" (Wireless Communications and Mobile Computing, 2020). LMF
    (:class:`~lmam.fusion.lmf.LMFFusion`) treats the modalities
    independently before their product; Att-LMF first lets them attend to
    one another with scaled dot-product self-attention, so that each
    unimodal representation is re-weighted by its correlation with the
    others, then applies the low-rank fusion::

        z_m  = ReLU(Linear_m(x_m))                        (h wide)
        z'_m = z_m + Attn(z_m; {z_1, ..., z_M})           (attend="modalities")
        out  = ReLU(sum_k w_k prod_m ([z'_m; 1] @ F_m[k]) + b)

    Departures: with ``attend="modalities"`` (default, our reading of the
    paper) the ``M`` tokens of one utterance attend to each other, so the
    method stays utterance-wise; ``attend="context"`` is our conversational
    variant: each modality's utterances attend to the real utterances of
    their dialogue instead (padded keys masked). One attention head, a
    residual connection, and the LMF's unimodal subnetworks and output ReLU.
    With one modality and ``attend="modalities"`` the attention weight is 1.

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        rank: the CP rank of the fusion.
        attend: ``"modalities"`` or ``"context"``.
        heads: attention heads (must divide ``hidden``).
        **options: ``hidden`` (default 16, common so that the modalities can
            attend), ``activation``, ``dropout`` (also on the attention weights)
            of :class:`~lmam.fusion.tfn.TensorFamilyFusion`.
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        rank: int = 4,
        attend: str = "modalities",
        heads: int = 1,
        **options: object,
    ) -> None:
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        self.attend = choice("attend", attend, ATTENDS)
        names = self.modalities if attend == "context" else ("modalities",)
        self.attn = nn.ModuleDict(
            {n: MaskedMultiheadAttention(self.hidden, heads, self.dropout) for n in names}
        )
        self.fusion = LowRankFusion(dict.fromkeys(self.modalities, self.hidden), out_dim, rank)

    def attended(self, zs: list[Tensor], keep: Tensor) -> list[Tensor]:
        """``z'_m = z_m + Attn(...)``.

        Args:
            zs: ``(B, T, h)`` per modality.
            keep: ``(B, T)`` boolean.

        Returns:
            ``(B, T, h)`` per modality.
        """
        if self.attend == "context":
            allowed = attention_mask(keep)
            return [z + self.attn[m](z, z, allowed) for m, z in zip(self.modalities, zs)]
        tokens = torch.stack(zs, dim=2)  # (B, T, M, h): the modalities of one utterance
        b, t, m, h = tokens.shape
        flat = tokens.reshape(b * t, m, h)
        mixed = (flat + self.attn["modalities"](flat, flat)).view(b, t, m, h)
        return list(mixed.unbind(dim=2))

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        return self.finish(self.fusion(self.attended(self.proj(xs), keep)), keep)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.fusion.rank}, attend={self.attend!r}"
