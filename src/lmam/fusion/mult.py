"""The Multimodal Transformer (Tsai et al., ACL 2019) and its building blocks.

The blocks (masked multi-head attention, the pre-LayerNorm cross-modal
transformer, one target's cross-modal stack, the sequence embedding) are
shared by MulT, LMF-MulT, AuxFormer and CMCF-SRNet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from lmam.fusion.registry import register_fusion
from lmam.nn.base import FusionModule
from lmam.nn.masking import check_context, context_mask, masked_softmax
from lmam.nn.options import positive_int


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """Vaswani et al.'s sinusoidal codes: ``(T, dim)``, sin on even and cos on odd columns."""
    pos = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    rates = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )
    codes = torch.zeros(length, dim, device=device)
    codes[:, 0::2] = torch.sin(pos * rates)
    codes[:, 1::2] = torch.cos(pos * rates[: dim // 2])
    return codes


def attention_mask(keep: Tensor, context: str | int = "full") -> Tensor:
    """Which key utterance each query utterance may attend to.

    Args:
        keep: ``(B, T)`` boolean, true at real utterances.
        context: ``"full"``, ``"causal"`` or an int window (see
            :func:`~lmam.nn.masking.context_mask`).

    Returns:
        Boolean ``(B, T, T)`` (or ``(B, 1, T)`` for ``"full"``): real keys in context.
    """
    allowed = keep.unsqueeze(1)
    ctx = context_mask(keep.shape[1], context, device=keep.device)
    return allowed if ctx is None else allowed & ctx.unsqueeze(0)


class MaskedMultiheadAttention(nn.Module):
    """Multi-head scaled dot-product attention whose weights skip disallowed keys.

    Unlike ``nn.MultiheadAttention`` a query with no allowed key (a fully
    padded dialogue) gets zeros, never NaN (:func:`~lmam.nn.masking.masked_softmax`).

    Args:
        dim: model width (queries, keys, values and output).
        heads: number of heads; must divide ``dim``.
        dropout: dropout on the attention weights.
    """

    def __init__(self, dim: int, heads: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % positive_int("heads", heads):
            raise ValueError(f"heads ({heads}) must divide the width ({dim})")
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)  # (B, H, T, d/H)

    def forward(self, query: Tensor, source: Tensor, allowed: Tensor | None = None) -> Tensor:
        """Attend.

        Args:
            query: ``(B, T, D)``.
            source: ``(B, S, D)``, the keys and values.
            allowed: boolean ``(B, T, S)`` or ``(B, 1, S)``; ``None``: every key.

        Returns:
            ``(B, T, D)``.
        """
        if allowed is not None and allowed.dim() != 3:
            raise ValueError(f"allowed must be (B, T, S) or (B, 1, S), got {tuple(allowed.shape)}")
        q, k, v = (
            self._split(self.query(query)),
            self._split(self.key(source)),
            self._split(self.value(source)),
        )
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, H, T, S)
        if allowed is None:
            alpha = torch.softmax(scores, dim=-1)
        else:
            alpha = masked_softmax(scores, allowed.unsqueeze(1))
        out = (self.drop(alpha) @ v).transpose(1, 2).flatten(2)
        return self.out(out)


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


class TransformerFamilyFusion(FusionModule):
    """What MulT, LMF-MulT, AuxFormer and CMCF-SRNet share: the sizes, the
    attention context and the :class:`SequenceEmbedding` (attribute ``embed``).

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        d_model: the common width ``d``.
        heads: attention heads (must divide ``d_model``).
        layers: blocks in every transformer.
        context: ``"full"``, ``"causal"`` or a window (which keys a query sees).
        positions: add sinusoidal position codes of the utterance index.
        dropout: dropout everywhere (embeddings, attention, residuals).
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        d_model: int = 32,
        heads: int = 2,
        layers: int = 1,
        context: str | int = "full",
        positions: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_dims, out_dim)
        self.d_model = positive_int("d_model", d_model)
        self.heads = positive_int("heads", heads)
        self.layers = positive_int("layers", layers)
        if d_model % heads:
            raise ValueError(f"heads ({heads}) must divide d_model ({d_model})")
        self.dropout = dropout
        self.context = check_context(context)
        self.embed = SequenceEmbedding(self.in_dims, d_model, positions, dropout)

    def finish(self, out: Tensor, keep: Tensor) -> Tensor:
        """Zeros at padding: ``(B, T, out_dim) -> (B, T, out_dim)``."""
        return out.masked_fill(~keep.unsqueeze(-1), 0.0)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, d_model={self.d_model}, heads={self.heads}, "
            f"layers={self.layers}, context={self.context!r}"
        )


@register_fusion("mult")
class MulTFusion(TransformerFamilyFusion):
    """The Multimodal Transformer: directional cross-modal attention between every pair.

    Paper: Tsai et al., "Multimodal Transformer for Unaligned Multimodal
    Language Sequences" (ACL 2019). Each modality is embedded to width ``d``
    (:class:`SequenceEmbedding`); for every target modality ``i`` and every
    other modality ``j`` a cross-modal transformer ``CM_{j -> i}`` lets the
    target's utterances query the source's; the outputs for target ``i`` are
    concatenated and passed through a self-attention transformer; the
    targets' sequences are concatenated and projected to ``out_dim``
    (:class:`CrossModalBranches`)::

        Z_i = SelfAttn_i([CM_{j -> i}(X_i, X_j) for j != i])
        out = Linear([Z_1, ..., Z_M])

    Departures from the paper: the sequences are the utterances of a
    dialogue (not the words/frames of one utterance) and every position is
    kept (the paper keeps the last one for a sequence-level prediction);
    keys are masked to the real utterances (and to ``context``); the output
    is a single ``Linear`` (the paper's residual MLP and classifier belong to
    the backbone here); small default sizes (``d_model=32``, 2 heads, 1
    layer). With a single modality there is no cross-modal transformer: the
    branch is the self-attention transformer alone.

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        **options: ``d_model``, ``heads``, ``layers``, ``context``,
            ``positions``, ``dropout`` of :class:`TransformerFamilyFusion`.

    Shapes:
        ``forward(feats: {m: (B, T, D_m)}, mask: (B, T)) -> (B, T, out_dim)``.
    """

    def __init__(self, in_dims: Mapping[str, int], out_dim: int, **options: object) -> None:
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        self.branches = CrossModalBranches(
            self.modalities, self.d_model, self.heads, self.layers, self.dropout
        )
        self.out = nn.Linear(self.branches.width, out_dim)

    def encode(self, xs: Sequence[Tensor], keep: Tensor) -> Tensor:
        """The concatenated target branches.

        Args:
            xs: ``(B, T, D_m)`` in modality order, zero at padding.
            keep: ``(B, T)`` boolean.

        Returns:
            ``(B, T, sum of branch widths)``.
        """
        return self.branches(self.embed(xs), attention_mask(keep, self.context))

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        return self.finish(self.out(self.encode(xs, keep)), keep)
