"""Cross-modality context fusion and semantic refinement, CMCF-SRNet (Zhang and Li, ACL 2023)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from lmam.fusion.mult import TransformerFamilyFusion
from lmam.fusion.registry import register_fusion
from lmam.nn.attention import attention_mask
from lmam.nn.crossmodal import CrossModalBranches
from lmam.nn.masking import context_mask, masked_softmax
from lmam.nn.options import positive_int

RELATIONS = ("past", "self", "future")


def relation_masks(length: int, window: int, device: torch.device | None = None) -> Tensor:
    """The temporal window graph, one boolean ``(T, T)`` adjacency per relation.

    Returns:
        ``(3, T, T)``: edges from key ``j`` to query ``i`` with ``0 < i - j <= window``
        (past), ``i == j`` (self) and ``0 < j - i <= window`` (future).
    """
    near = context_mask(length, window, device=device)  # |key - query| <= window
    assert near is not None
    pos = torch.arange(length, device=device)
    diff = pos[None, :] - pos[:, None]  # key minus query
    return torch.stack([near & (diff < 0), diff == 0, near & (diff > 0)])


class RelationalGraphLayer(nn.Module):
    """Graph transformer layer over a relation-typed utterance graph.

    For query utterance ``i`` and its neighbours ``j`` (relation ``r(i, j)``)::

        alpha_ij = softmax_j(q_i . k_j / sqrt(d) + beta_{r(i,j)})
        m_i      = sum_j alpha_ij V_{r(i,j)} h_j
        h_i     <- LN(h_i + m_i);  h_i <- LN(h_i + FFN(h_i))

    Args:
        dim: node width.
        num_relations: number of edge types.
        dropout: dropout on the attention weights and the residual branches.
    """

    def __init__(self, dim: int, num_relations: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.values = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_relations))
        self.relation_bias = nn.Parameter(torch.zeros(num_relations))
        self.norm_attn = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        self.norm_ff = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, relations: Tensor, keep: Tensor) -> Tensor:
        """Refine.

        Args:
            h: ``(B, T, D)`` node features.
            relations: ``(R, T, T)`` boolean adjacency per relation, query rows by key columns.
            keep: ``(B, T)`` boolean; padded utterances are no neighbours.

        Returns:
            ``(B, T, D)``.
        """
        rel = relations.to(h.dtype)  # (R, T, T)
        scores = self.query(h) @ self.key(h).transpose(1, 2) / math.sqrt(h.shape[-1])
        scores = scores + torch.einsum("r,rij->ij", self.relation_bias, rel)
        allowed = relations.any(0).unsqueeze(0) & keep.unsqueeze(1)  # (B, T, T)
        alpha = self.drop(masked_softmax(scores, allowed))
        message = torch.zeros_like(h)
        for r, value in enumerate(self.values):
            message = message + (alpha * rel[r]) @ value(h)  # the edges of relation r
        h = self.norm_attn(h + self.drop(message))
        return self.norm_ff(h + self.drop(self.ff(h)))


@register_fusion("cmcf_srnet")
class CMCFSRNetFusion(TransformerFamilyFusion):
    """Locality-constrained cross-modal attention, then graph-based semantic refinement.

    Paper: Zhang and Li, "A Cross-Modality Context Fusion and Semantic
    Refinement Network for Emotion Recognition in Conversation" (ACL 2023).
    Two stages:

    1. Cross-modality context fusion: for every target modality, cross-modal
       transformers from every other modality and a self-attention transformer
       (:class:`~lmam.fusion.mult.CrossModalStack`) whose attention is
       constrained to a window of ``window`` utterances on either side
       (:func:`~lmam.nn.masking.context_mask`); the targets are concatenated
       and projected to ``d_model``.
    2. Semantic refinement: ``graph_layers`` relation-aware graph transformer
       layers (:class:`RelationalGraphLayer`) over the utterance graph, then a
       ``Linear`` to ``out_dim``.

    Departures from the paper: the fusion contract carries no speakers, so
    the graph has temporal relations only: edges between utterances at most
    ``graph_window`` apart, typed past/self/future (the paper also types
    edges by speaker); the graph is a dense masked adjacency in plain torch
    (no graph library); padded utterances are neither queries nor
    neighbours; no auxiliary losses; small default sizes. With one modality
    the context-fusion stage is the windowed self-attention alone.

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        window: locality constraint of the cross-modal stage (utterances each
            side); it is the ``context`` of the attention, which is not an option here.
        graph_window: temporal edge length of the graph.
        graph_layers: number of graph refinement layers.
        **options: ``d_model``, ``heads``, ``layers``, ``positions``,
            ``dropout`` of :class:`~lmam.fusion.mult.TransformerFamilyFusion`.
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        window: int = 2,
        graph_window: int = 1,
        graph_layers: int = 1,
        **options: object,
    ) -> None:
        if "context" in options:
            raise ValueError("cmcf_srnet takes window=<int>, not context")
        for name, value in (("window", window), ("graph_window", graph_window)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        super().__init__(in_dims, out_dim, context=window, **options)  # type: ignore[arg-type]
        self.window = window
        self.graph_window = graph_window
        d = self.d_model
        self.branches = CrossModalBranches(
            self.modalities, d, self.heads, self.layers, self.dropout
        )
        self.merge = nn.Linear(self.branches.width, d)
        self.graph = nn.ModuleList(
            RelationalGraphLayer(d, len(RELATIONS), self.dropout)
            for _ in range(positive_int("graph_layers", graph_layers))
        )
        self.out = nn.Linear(d, out_dim)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        h = self.merge(self.branches(self.embed(xs), attention_mask(keep, self.context)))
        relations = relation_masks(h.shape[1], self.graph_window, h.device)
        for layer in self.graph:
            h = layer(h, relations, keep)
        return self.finish(self.out(h), keep)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, graph_window={self.graph_window}, "
            f"graph_layers={len(self.graph)}"
        )
