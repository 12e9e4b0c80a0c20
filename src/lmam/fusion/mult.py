"""The Multimodal Transformer (Tsai et al., ACL 2019) and its building blocks.

Its blocks are in :mod:`lmam.nn.crossmodal` (shared by MulT, LMF-MulT,
AuxFormer and CMCF-SRNet); :class:`TransformerFamilyFusion` is what those
four fusions share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from lmam.fusion.registry import register_fusion
from lmam.nn.attention import attention_mask
from lmam.nn.crossmodal import CrossModalBranches, SequenceEmbedding
from lmam.nn.fusion_module import FusionModule
from lmam.nn.masking import check_context
from lmam.nn.options import positive_int


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
