"""M2FNet (Chudasama et al., CVPR Workshops 2022): dialogue-level Transformers
per modality and stacked multi-head-attention fusion, text as the query.

1. Per modality ``m``: a linear map of the utterance features to ``dim``,
   ``p_m``, then ``layers`` Transformer encoder layers over the utterances of
   the dialogue (:class:`~lmam.nn.transformer.TransformerLayer`, key padding
   masked), with a skip connection around the whole encoder:
   ``h_m = p_m + Enc_m(p_m)``.
2. Multi-head-attention fusion, ``fusion_layers`` layers stacked over
   ``f = h_query`` (the text by default): in each layer, one multi-head
   attention per other modality with ``f`` as the query and ``h_m`` as the
   keys and values, ``a_m = MHA_m(f, h_m, h_m)``; the ``a_m`` are concatenated
   and mapped back to ``dim``: ``f <- LN(f + W [a_m ...])``.
3. Streams ``{query: f} + {m: h_m}`` (each ``dim`` wide), which the model
   concatenates before its linear classifier: the fused text stream plus the
   other modalities' encoded streams, as the authors' classifier reads them.

Out of scope: M2FNet's feature extractors work on raw media (RoBERTa for the
text, an audio extractor trained with an adaptive-margin triplet loss, a dual
network for the faces and the scene of the video frames); here the model
takes utterance features, as every backbone of this library.

Departures (no public code of the authors): the linear map to a common width
``dim`` before the encoders (the paper's modalities come from its own
extractors at fixed widths); a residual and LayerNorm around each fusion
layer (the paper stacks the concatenation-and-linear output directly); the
classifier is the model's single linear layer (the paper: fully connected
layers); defaults (``dim`` 128, 4 heads, one encoder layer, two fusion layers,
feed-forward 256, dropout 0.1) are ours, for feature-level input, not tuned.

One modality, or no other modality than the query: there is nothing to
attend to, so the fusion layers are skipped and the stream is the query's
encoder output (``fusion_layers`` builds no module). Without a modality named
``query`` the first modality is the query.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from lmam.models.registry import register_backbone
from lmam.nn.attention import MaskedMultiheadAttention
from lmam.nn.options import positive_int
from lmam.nn.transformer import TransformerLayer
from lmam.space import Choice, Int


class AttentionFusionLayer(nn.Module):
    """One M2FNet fusion layer: the query stream attends to each other modality.

    ``forward(f: (B, T, dim), others: [(B, T, dim)], mask: (B, T)) -> (B, T, dim)``.
    """

    def __init__(self, dim: int, heads: int, sources: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.attns = nn.ModuleList(
            MaskedMultiheadAttention(dim, heads, dropout) for _ in range(sources)
        )
        self.proj = nn.Linear(sources * dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, f: Tensor, others: list[Tensor], mask: Tensor) -> Tensor:
        attended = [attn(f, h, mask.unsqueeze(1)) for attn, h in zip(self.attns, others)]
        out = self.norm(f + self.drop(self.proj(torch.cat(attended, -1))))
        return out.masked_fill(~mask.unsqueeze(-1), 0.0)


class M2FNetEncoder(nn.Module):
    """M2FNet over a batch of conversations; multimodal by design.

    Args:
        in_dims: ``{m: D_m}``.
        dim: width of every stream.
        heads: attention heads (encoders and fusion).
        layers: Transformer encoder layers per modality.
        fusion_layers: stacked attention fusion layers.
        ff: feed-forward width of the encoder layers.
        query: the modality whose stream is the fusion's query (``"text"``;
            the first modality if there is none of that name).
        dropout: dropout in the encoders and the fusion layers.

    ``forward(feats: {m: (B, T, D_m)}, mask: (B, T), speakers: (B, T))
    -> {m: (B, T, dim)}`` (zeros at padding; the query's stream is the fused one).
    """

    multimodal = True

    def __init__(
        self,
        in_dims: Mapping[str, int],
        dim: int = 128,
        heads: int = 4,
        layers: int = 1,
        fusion_layers: int = 2,
        ff: int = 256,
        query: str = "text",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        positive_int("layers", layers)
        if (
            not isinstance(fusion_layers, int)
            or isinstance(fusion_layers, bool)
            or fusion_layers < 0
        ):
            raise ValueError(f"fusion_layers must be a non-negative int, got {fusion_layers!r}")
        self.modalities = tuple(in_dims)
        self.query = query if query in in_dims else self.modalities[0]
        self.others = tuple(m for m in self.modalities if m != self.query)
        self.proj = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in in_dims.items()})
        self.encoders = nn.ModuleDict(
            {
                m: nn.ModuleList(TransformerLayer(dim, heads, ff, dropout) for _ in range(layers))
                for m in self.modalities
            }
        )
        self.fusion = nn.ModuleList(
            AttentionFusionLayer(dim, heads, len(self.others), dropout)
            for _ in range(fusion_layers if self.others else 0)
        )
        self.out_dims = dict.fromkeys(self.modalities, dim)

    def encode(self, m: str, x: Tensor, keep: Tensor) -> Tensor:
        """``h_m = p_m + Enc_m(p_m)``: ``(B, T, D_m) -> (B, T, dim)``, zeros at padding."""
        p = self.proj[m](x).masked_fill(~keep.unsqueeze(-1), 0.0)
        h = p
        stack = self.encoders[m]
        assert isinstance(stack, nn.ModuleList)
        for layer in stack:
            h = layer(h, keep)
        return p + h

    def forward(
        self, feats: Mapping[str, Tensor], mask: Tensor, speakers: Tensor
    ) -> dict[str, Tensor]:
        keep = mask.to(torch.bool)
        h = {m: self.encode(m, feats[m], keep) for m in self.modalities}
        f = h[self.query]
        others = [h[m] for m in self.others]
        for layer in self.fusion:
            f = layer(f, others, keep)
        return {m: f if m == self.query else h[m] for m in self.modalities}


register_backbone(
    "m2fnet",
    M2FNetEncoder,
    label="M2FNet",
    description='M2FNet; by default with its own fusion only (``fusion="none"``), else with '
    'any fusion at any embedding point (M2FNet*: ``fusion="lmam"``).',
    multimodal=True,
    own_fusion=True,
    width_option="ff",
    dropout_origin="ours (M2FNet's encoders take no feature-level input; 0.1 as in its transformer layers)",
    space={
        "dim": Choice((64, 128, 256)),
        "ff": Choice((128, 256, 512)),
        "layers": Int(1, 3),
    },
)
