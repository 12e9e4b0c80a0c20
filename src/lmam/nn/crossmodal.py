"""The Multimodal Transformer's building blocks (Tsai et al., ACL 2019).

The pre-LayerNorm (cross-modal) transformer layer, a stack of them, one target
modality's cross-modal branch, MulT's branches and its sequence embedding;
shared by the fusions MulT, LMF-MulT, AuxFormer and CMCF-SRNet
(:mod:`lmam.fusion.mult`). The attention is
:class:`~lmam.nn.attention.MaskedMultiheadAttention`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from lmam.nn.attention import MaskedMultiheadAttention, sinusoidal_positions
from lmam.nn.options import positive_int


class TransformerBlock(nn.Module):
    """One pre-LayerNorm layer, MulT's cross-modal layer when ``cross``::

        x = x + Attn(LN(x), LN'(source))      (self-attention: source = x, one LN)
        x = x + FFN(LN''(x))

    Args:
        dim: model width.
        heads: attention heads.
        cross: keys/values come from another sequence (with its own LayerNorm).
        dropout: dropout on attention weights, residual branches and the FFN.
        ff_mult: FFN hidden width as a multiple of ``dim``.
    """

    def __init__(
        self, dim: int, heads: int, *, cross: bool, dropout: float = 0.0, ff_mult: int = 4
    ) -> None:
        super().__init__()
        self.norm_query = nn.LayerNorm(dim)
        self.norm_source = nn.LayerNorm(dim) if cross else None
        self.attn = MaskedMultiheadAttention(dim, heads, dropout)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, ff_mult * dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(ff_mult * dim, dim),
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, source: Tensor | None, allowed: Tensor | None) -> Tensor:
        """Args: x: ``(B, T, D)``; source: ``(B, S, D)`` or ``None`` (self-attention);
        allowed: ``(B, T, S)`` or ``(B, 1, S)``. Returns: ``(B, T, D)``."""
        h = self.norm_query(x)
        if self.norm_source is None or source is None:
            if self.norm_source is not None or source is not None:
                raise ValueError("a cross block needs a source, a self-attention block none")
            kv = h
        else:
            kv = self.norm_source(source)
        x = x + self.drop(self.attn(h, kv, allowed))
        return x + self.drop(self.ff(self.norm_ff(x)))


class CrossModalTransformer(nn.Module):
    """A stack of :class:`TransformerBlock` and a final LayerNorm.

    With ``cross=True`` it is MulT's cross-modal transformer ``CM_{source -> target}``:
    queries from the target (updated layer after layer), keys and values from
    the same source sequence at every layer. With ``cross=False`` it is a
    self-attention encoder.

    Args:
        dim, heads, dropout, ff_mult: as :class:`TransformerBlock`.
        layers: number of blocks.
        cross: cross-modal (needs a source) or self-attention.
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        layers: int,
        *,
        cross: bool,
        dropout: float = 0.0,
        ff_mult: int = 4,
    ) -> None:
        super().__init__()
        self.cross = cross
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, heads, cross=cross, dropout=dropout, ff_mult=ff_mult)
            for _ in range(positive_int("layers", layers))
        )
        self.norm = nn.LayerNorm(dim)

    def forward(
        self, target: Tensor, source: Tensor | None = None, allowed: Tensor | None = None
    ) -> Tensor:
        """Args: target: ``(B, T, D)``; source: ``(B, S, D)`` or ``None``;
        allowed: ``(B, T, S)`` or ``(B, 1, S)``. Returns: ``(B, T, D)``."""
        x = target
        for block in self.blocks:
            x = block(x, source, allowed)
        return self.norm(x)


class CrossModalStack(nn.Module):
    """One target modality's MulT branch: a cross-modal transformer per source,
    their outputs concatenated, then a self-attention transformer ("memory").

    With no source it is the self-attention transformer alone.

    Args:
        dim: width of the target and of every source.
        num_sources: number of source sequences (0 allowed).
        heads, layers, dropout, ff_mult: as :class:`CrossModalTransformer`.

    Attributes:
        width: output width, ``dim * max(num_sources, 1)``.
    """

    def __init__(
        self,
        dim: int,
        num_sources: int,
        heads: int,
        layers: int,
        dropout: float = 0.0,
        ff_mult: int = 4,
    ) -> None:
        super().__init__()
        self.cross = nn.ModuleList(
            CrossModalTransformer(dim, heads, layers, cross=True, dropout=dropout, ff_mult=ff_mult)
            for _ in range(num_sources)
        )
        self.width = dim * max(num_sources, 1)
        self.memory = CrossModalTransformer(
            self.width, heads, layers, cross=False, dropout=dropout, ff_mult=ff_mult
        )

    def forward(self, target: Tensor, sources: Sequence[Tensor], allowed: Tensor) -> Tensor:
        """Args: target: ``(B, T, dim)``; sources: ``(B, T, dim)`` each;
        allowed: ``(B, T, T)`` or ``(B, 1, T)``. Returns: ``(B, T, width)``."""
        if len(sources) != len(self.cross):
            raise ValueError(f"expected {len(self.cross)} sources, got {len(sources)}")
        if self.cross:
            target = torch.cat(
                [cm(target, src, allowed) for cm, src in zip(self.cross, sources)], dim=-1
            )
        return self.memory(target, None, allowed)


class CrossModalBranches(nn.Module):
    """MulT's branches: one :class:`CrossModalStack` per target modality, whose
    sources are all the other modalities (none when there is only one).

    Args:
        modalities: the modality names, in the fixed order.
        dim, heads, layers, dropout: as :class:`CrossModalStack`.

    Attributes:
        width: output width, the sum of the branch widths.
    """

    def __init__(
        self, modalities: Sequence[str], dim: int, heads: int, layers: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        num_sources = len(modalities) - 1
        self.stacks = nn.ModuleDict(
            {m: CrossModalStack(dim, num_sources, heads, layers, dropout) for m in modalities}
        )
        self.width = len(modalities) * dim * max(num_sources, 1)

    def forward(self, embedded: Sequence[Tensor], allowed: Tensor) -> Tensor:
        """Args: embedded: ``(B, T, dim)`` per modality, in order; allowed: ``(B, T, T)``
        or ``(B, 1, T)``. Returns: ``(B, T, width)``, the targets concatenated."""
        outs = []
        for i, stack in enumerate(self.stacks.values()):
            others = [e for j, e in enumerate(embedded) if j != i]
            outs.append(stack(embedded[i], others, allowed))
        return torch.cat(outs, dim=-1)


class SequenceEmbedding(nn.Module):
    """MulT's input stage: ``sqrt(d) * Linear_m(x_m) + positions``, dropout.

    The ``Linear`` (no bias) is MulT's kernel-size-1 temporal convolution;
    the positions are sinusoidal codes of the utterance index.

    Args:
        in_dims: ``{modality: D_m}``.
        dim: model width ``d``.
        positions: add the position codes.
        dropout: dropout on the embeddings.
    """

    def __init__(
        self, in_dims: Mapping[str, int], dim: int, positions: bool = True, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.dim = dim
        self.positions = positions
        self.proj = nn.ModuleDict({m: nn.Linear(w, dim, bias=False) for m, w in in_dims.items()})
        self.drop = nn.Dropout(dropout)

    def forward(self, xs: Sequence[Tensor]) -> list[Tensor]:
        """Args: xs: ``(B, T, D_m)`` in modality order. Returns: ``(B, T, d)`` each."""
        scale = math.sqrt(self.dim)
        pos = sinusoidal_positions(xs[0].shape[1], self.dim, xs[0].device) if self.positions else 0
        return [self.drop(scale * layer(x) + pos) for layer, x in zip(self.proj.values(), xs)]
