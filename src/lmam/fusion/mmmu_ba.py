"""MMMU-BA: multi-modal multi-utterance bi-modal attention.

Paper: Ghosal, Akhtar, Chauhan, Poria, Ekbal, Bhattacharyya, "Contextual
Inter-modal Attention for Multi-modal Sentiment Analysis", EMNLP 2018.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from lmam.fusion.registry import register_fusion
from lmam.nn.fusion_module import FusionModule
from lmam.nn.masking import masked_softmax
from lmam.nn.options import choice

PAIRS = ("all", "text")


@register_fusion("mmmu_ba")
class MMMUBAFusion(FusionModule):
    """Bi-modal attention over the utterances of a conversation, for pairs of modalities.

    For a pair of modalities ``(i, j)`` with contextual features ``x_i, x_j``
    of one width ``d`` (``(B, T, d)``)::

        M   = x_i x_j^T                       (B, T, T) utterance-to-utterance matching
        N_i = softmax over valid keys of M    N_j = the same of M^T
        A_i = (N_i x_j) * x_i                 A_j = (N_j x_i) * x_j   (element-wise)
        MMMU-BA_ij = [A_i ; A_j]              (B, T, 2d)

    The output concatenates ``MMMU-BA_ij`` of every pair (in ``in_dims`` order)
    and then the modalities themselves, as the paper's classifier input, and a
    ``Linear`` maps it to ``out_dim`` (none when ``out_dim`` is that width).
    It has no attention weights of its own: the recurrent encoders before it
    (``embed="late"``) learn the features that are matched.

    Departures from the paper: modalities of another width than ``dim`` get a
    ``Linear`` to ``dim`` (the paper's dense layers give every modality 100);
    the pair set is an option (``"all"``: every pair, as for the paper's
    trimodal model; ``"text"``: text with each other modality); the paper's
    dense layers and dropouts belong to the encoders here.

    Args:
        in_dims: ``{modality: width}`` in the fixed modality order.
        out_dim: output width.
        dim: the common width ``d`` (``None``: the widest modality).
        pairs: ``"all"`` or ``"text"`` (the latter needs a ``text`` modality).
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        dim: int | None = None,
        pairs: str = "all",
    ) -> None:
        super().__init__(in_dims, out_dim)
        d = dim if dim is not None else max(self.in_dims.values())
        if not isinstance(d, int) or isinstance(d, bool) or d <= 0:
            raise ValueError(f"dim must be a positive int, got {d!r}")
        self.dim = d
        self.pairs_option = choice("pairs", pairs, PAIRS)
        names = self.modalities
        if pairs == "text":
            if "text" not in names:
                raise ValueError(f"pairs='text' needs a 'text' modality, got {list(names)}")
            t = names.index("text")
            self.pairs = [(t, k) for k in range(len(names)) if k != t]
        else:
            self.pairs = list(itertools.combinations(range(len(names)), 2))
        self.proj = nn.ModuleDict({m: nn.Linear(w, d) for m, w in self.in_dims.items() if w != d})
        width = (2 * len(self.pairs) + len(names)) * d
        self.fused_dim = width
        self.out = nn.Linear(width, out_dim) if width != out_dim else nn.Identity()

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        xs = [self.proj[m](x) if m in self.proj else x for m, x in zip(self.modalities, xs)]
        keys = keep.unsqueeze(1)  # (B, 1, T): which utterances may be attended
        parts = []
        for i, j in self.pairs:
            match = torch.bmm(xs[i], xs[j].transpose(1, 2))  # (B, T, T)
            parts.append(torch.bmm(masked_softmax(match, keys), xs[j]) * xs[i])
            parts.append(torch.bmm(masked_softmax(match.transpose(1, 2), keys), xs[i]) * xs[j])
        fused = torch.cat([*parts, *xs], dim=-1)
        return self.out(fused).masked_fill(~keep.unsqueeze(-1), 0.0)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dim={self.dim}, pairs={self.pairs_option!r}"
