"""One composition of a fusion and a contextual encoder, for every backbone.

A backbone is a *contextual encoder*: ``(B, T, D_in)`` utterance features of a
conversation to ``(B, T, H)`` contextual features (see :class:`Encoder`). The
model puts any registered fusion at one of three embedding points (the
paper's Fig. 4):

- ``early``: ``encoder(fusion(feats))``;
- ``early_residual``: ``encoder(concat(feats) + Linear(fusion(feats)))``;
- ``late``: one encoder per modality, then ``fusion({m: encoder_m(feats[m])})``;

and a linear classifier (or regressor) on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import torch
from torch import Tensor, nn

from lmam.fusion.registry import create_fusion, fusion_factory
from lmam.nn.base import FusionModule

EMBEDS = ("early", "early_residual", "late")


class Encoder(Protocol):
    """What a backbone provides: attribute ``out_dim`` and
    ``forward(x: (B, T, D_in), mask: (B, T), speakers: (B, T)) -> (B, T, out_dim)``."""

    out_dim: int

    def __call__(self, x: Tensor, mask: Tensor, speakers: Tensor) -> Tensor: ...


EncoderFactory = Callable[[int], nn.Module]


def encoder_width(encoder: nn.Module) -> int:
    """The ``out_dim`` an encoder declares (a plain int attribute)."""
    width = encoder.__dict__.get("out_dim")
    if not isinstance(width, int):
        raise TypeError(f"{type(encoder).__name__} must set an int attribute out_dim")
    return width


class ERCModel(nn.Module):
    """A fusion plugged into a backbone at an embedding point, plus a classifier.

    Args:
        encoder_factory: ``in_dim -> encoder`` (an :class:`Encoder` module).
        in_dims: ``{modality: width}`` in the fixed modality order.
        num_classes: number of classes (or regression outputs).
        fusion: a registered fusion name.
        embed: ``"early"``, ``"early_residual"`` or ``"late"``.
        fusion_dim: the fusion's output width; ``None``: the summed input
            width for ``early``/``early_residual``, the encoder width for ``late``.
        fusion_options: options of the fusion (e.g. ``{"rank": 45}``).
        dropout: dropout before the classifier.

    ``forward(feats: {m: (B, T, D_m)}, mask: (B, T), speakers: (B, T)) -> (B, T, num_classes)``.
    """

    def __init__(
        self,
        encoder_factory: EncoderFactory,
        *,
        in_dims: Mapping[str, int],
        num_classes: int,
        fusion: str = "concat",
        embed: str = "early",
        fusion_dim: int | None = None,
        fusion_options: Mapping[str, object] | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if embed not in EMBEDS:
            raise ValueError(f"embed must be one of {EMBEDS}, got {embed!r}")
        if num_classes <= 0:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.in_dims = dict(in_dims)
        self.modalities = tuple(in_dims)
        self.embed = embed
        self.num_classes = num_classes
        self.fusion_name = fusion
        options = dict(fusion_options or {})
        total = sum(self.in_dims.values())
        self.encoders = nn.ModuleDict()
        self.residual_proj: nn.Module | None = None
        if embed == "late":
            for m, width in self.in_dims.items():
                self.encoders[m] = encoder_factory(width)
            enc_dims = {m: encoder_width(self.encoders[m]) for m in self.modalities}
            out = fusion_dim or next(iter(enc_dims.values()))
            self.fusion = self._fusion(fusion, enc_dims, out, options, num_classes)
            head_in = self.fusion.out_dim
        else:
            out = fusion_dim or total
            self.fusion = self._fusion(fusion, self.in_dims, out, options, num_classes)
            if embed == "early_residual":
                self.residual_proj = nn.Linear(self.fusion.out_dim, total)
                enc_in = total
            else:
                enc_in = self.fusion.out_dim
            self.encoders["all"] = encoder_factory(enc_in)
            head_in = encoder_width(self.encoders["all"])
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(head_in, num_classes)

    @staticmethod
    def _fusion(
        name: str, dims: dict[str, int], out: int, options: dict[str, object], num_classes: int
    ) -> FusionModule:
        if getattr(fusion_factory(name), "wants_num_classes", False):
            options.setdefault("num_classes", num_classes)
        return create_fusion(name, in_dims=dims, out_dim=out, **options)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor, speakers: Tensor) -> Tensor:
        """Args:
            feats: ``{modality: (B, T, D_m)}``.
            mask: ``(B, T)``, true at real utterances.
            speakers: ``(B, T)`` speaker ids.

        Returns:
            ``(B, T, num_classes)`` logits (zeros at padding).
        """
        keep = mask.to(torch.bool)
        if self.embed == "late":
            encoded = {
                m: self.encoders[m](feats[m].masked_fill(~keep.unsqueeze(-1), 0.0), keep, speakers)
                for m in self.modalities
            }
            h = self.fusion(encoded, keep)
        else:
            fused = self.fusion(feats, keep)
            if self.residual_proj is not None:
                xs, _ = self.fusion.prepare(feats, keep)
                fused = torch.cat(xs, dim=-1) + self.residual_proj(fused)
            h = self.encoders["all"](fused, keep, speakers)
        logits = self.classifier(self.drop(h))
        return logits.masked_fill(~keep.unsqueeze(-1), 0.0)

    def aux_losses(self, labels: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """The fusion's auxiliary losses of the last forward pass."""
        return self.fusion.aux_losses(labels, mask)
