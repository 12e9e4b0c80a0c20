"""Low-rank fusion based transformers, LMF-MulT (Sahay et al., 2020)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from lmam.fusion.lmf import LowRankFusion
from lmam.fusion.mult import TransformerFamilyFusion
from lmam.fusion.registry import register_fusion
from lmam.nn.attention import attention_mask
from lmam.nn.crossmodal import CrossModalStack


@register_fusion("lmf_mult")
class LMFMulTFusion(TransformerFamilyFusion):
    """Every modality attends to one low-rank fused stream instead of to every other modality.

    Paper: Sahay et al., "Low Rank Fusion based Transformers for Multimodal
    Sequences" (Second Grand-Challenge and Workshop on Multimodal Language,
    2020), the LMF-MulT model. The modalities are embedded to width ``d``
    (MulT's :class:`~lmam.fusion.mult.SequenceEmbedding`); a low-rank
    multimodal fusion (:class:`~lmam.fusion.lmf.LowRankFusion`) of the
    embeddings at every utterance gives a fused stream ``F``; then one
    cross-modal transformer per modality with queries from the modality and
    keys/values from ``F``, a self-attention transformer, and the modalities'
    sequences concatenated and projected::

        F   = LMF(X_1, ..., X_M)                    (utterance by utterance)
        Z_i = SelfAttn_i(CM_{F -> i}(X_i, F))
        out = Linear([Z_1, ..., Z_M])

    ``M`` cross-modal transformers instead of MulT's ``M(M - 1)``.

    Departures from the paper: sequences of utterances of a dialogue with
    masked keys (not words/frames), one output per utterance, a ``Linear``
    head, small default sizes; the fused stream is computed from the
    position-coded embeddings (not a separate feature pipeline). A single
    modality works too: ``F`` is then a low-rank function of that modality.

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        rank: rank of the low-rank fusion.
        **options: ``d_model`` (also the width of ``F``), ``heads``,
            ``layers``, ``context``, ``positions``, ``dropout`` of
            :class:`~lmam.fusion.mult.TransformerFamilyFusion`.
    """

    def __init__(
        self, in_dims: Mapping[str, int], out_dim: int, *, rank: int = 4, **options: object
    ) -> None:
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        d = self.d_model
        self.fusion = LowRankFusion(dict.fromkeys(self.modalities, d), d, rank)
        self.branches = nn.ModuleDict(
            {
                m: CrossModalStack(d, 1, self.heads, self.layers, self.dropout)
                for m in self.modalities
            }
        )
        self.out = nn.Linear(d * len(self.modalities), out_dim)

    def fused_stream(self, embedded: list[Tensor], keep: Tensor) -> Tensor:
        """``F``: the low-rank fusion of the embeddings, ``(B, T, d)``, zero at padding."""
        return self.finish(self.fusion(embedded), keep)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        embedded = self.embed(xs)
        fused = self.fused_stream(embedded, keep)
        allowed = attention_mask(keep, self.context)
        outs = [branch(e, [fused], allowed) for branch, e in zip(self.branches.values(), embedded)]
        return self.finish(self.out(torch.cat(outs, dim=-1)), keep)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.fusion.rank}"
