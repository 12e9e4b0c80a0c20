"""The two classic fusions: element-wise sum and concatenation."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from lmam.fusion.registry import register_fusion
from lmam.nn.fusion_module import FusionModule


@register_fusion("add")
class AddFusion(FusionModule):
    """Sum of the modalities, each first mapped to ``out_dim`` by a ``Linear``
    (none for a modality already ``out_dim`` wide).

    ``forward(feats: {m: (B, T, D_m)}, mask: (B, T)) -> (B, T, out_dim)``.
    """

    def __init__(self, in_dims: Mapping[str, int], out_dim: int) -> None:
        super().__init__(in_dims, out_dim)
        self.proj = nn.ModuleDict(
            {m: nn.Linear(w, out_dim) for m, w in self.in_dims.items() if w != out_dim}
        )

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        xs, keep = self.prepare(feats, mask)
        mapped = [self.proj[m](x) if m in self.proj else x for m, x in zip(self.modalities, xs)]
        return torch.stack(mapped).sum(0).masked_fill(~keep.unsqueeze(-1), 0.0)


@register_fusion("concat")
class ConcatFusion(FusionModule):
    """Concatenation of the modalities in their fixed order, then a ``Linear`` to
    ``out_dim`` (none when ``out_dim`` is the summed width: plain concatenation).

    ``forward(feats: {m: (B, T, D_m)}, mask: (B, T)) -> (B, T, out_dim)``.
    """

    def __init__(self, in_dims: Mapping[str, int], out_dim: int) -> None:
        super().__init__(in_dims, out_dim)
        total = sum(self.in_dims.values())
        self.proj = nn.Linear(total, out_dim) if total != out_dim else nn.Identity()

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        xs, keep = self.prepare(feats, mask)
        return self.proj(torch.cat(xs, dim=-1)).masked_fill(~keep.unsqueeze(-1), 0.0)
