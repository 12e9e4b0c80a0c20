"""The two graphs of DHCN: the item hypergraph and the sessions' line graph.

Hypergraph: every training session is a hyperedge over its (distinct) items.
With the incidence matrix ``H`` (``N`` items x ``M`` sessions), item degrees
``D = diag(H 1)`` and edge degrees ``B = diag(H^T 1)``, one convolution is
``X' = D^-1 H B^-1 H^T X`` (hyperedge weights ``W = I``). It is applied as two
sparse products, ``D^-1 H`` then ``B^-1 H^T``, each with ``nnz(H)`` entries
(762,120 on Diginetica), never as the ``N x N`` item adjacency.

Line graph: the sessions of a batch are nodes, weighted by the Jaccard overlap
of their item sets, ``A_ij = |s_i & s_j| / |s_i | s_j|`` (``A_ii = 1``); one
convolution is ``D^-1 A Theta``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor


class Hypergraph:
    """The normalised factors of the item hypergraph, built once.

    Args:
        sessions: the hyperedges, item ids ``1..num_items`` (repeats ignored).
        num_items: ``N``.

    Attributes:
        item_side: sparse CSR ``(N, M)`` ``D^-1 H`` (rows of items in no edge are 0).
        edge_side: sparse CSR ``(M, N)`` ``B^-1 H^T``.
    """

    def __init__(self, sessions: Sequence[Sequence[int]], num_items: int) -> None:
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for e, s in enumerate(sessions):
            items = np.unique(np.asarray(s, dtype=np.int64)) - 1
            rows.append(items)
            cols.append(np.full(len(items), e, dtype=np.int64))
        item = torch.from_numpy(np.concatenate(rows)) if rows else torch.zeros(0, dtype=torch.long)
        edge = torch.from_numpy(np.concatenate(cols)) if cols else torch.zeros(0, dtype=torch.long)
        m = len(sessions)
        item_deg = torch.bincount(item, minlength=num_items).float()
        edge_deg = torch.bincount(edge, minlength=m).float()
        self.num_items = num_items
        self.num_edges = m
        self.nnz = int(item.numel())
        idx = torch.stack([item, edge])
        with torch.sparse.check_sparse_tensor_invariants(True):
            item_side = torch.sparse_coo_tensor(idx, 1.0 / item_deg[item], (num_items, m))
            edge_side = torch.sparse_coo_tensor(idx.flip(0), 1.0 / edge_deg[edge], (m, num_items))
        # CSR copies of both factors and of their transposes (for the backward pass)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            self._to_csr(item_side, edge_side)

    def _to_csr(self, item_side: Tensor, edge_side: Tensor) -> None:
        self.item_side = item_side.coalesce().to_sparse_csr()
        self.edge_side = edge_side.coalesce().to_sparse_csr()
        self.item_side_t = item_side.t().coalesce().to_sparse_csr()
        self.edge_side_t = edge_side.t().coalesce().to_sparse_csr()

    def to(self, device: torch.device) -> Hypergraph:
        """Move the factors to ``device`` (in place); returns ``self``."""
        for name in ("item_side", "edge_side", "item_side_t", "edge_side_t"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def conv(self, x: Tensor) -> Tensor:
        """One convolution. Args: x: ``(N, D)``. Returns ``D^-1 H B^-1 H^T x``: ``(N, D)``."""
        out: Tensor = _HyperConv.apply(x, self)
        return out

    def propagate(self, x: Tensor, layers: int) -> Tensor:
        """DHCN's channel output: the mean of ``x`` and its ``layers`` successive
        convolutions. Args: x: ``(N, D)``. Returns ``(N, D)``."""
        total = x
        for _ in range(layers):
            x = self.conv(x)
            total = total + x
        return total / (layers + 1)


def line_graph(items: Tensor, mask: Tensor) -> Tensor:
    """Row-normalised Jaccard adjacency of a batch's sessions.

    Args:
        items: ``(B, T)`` item ids (0 = padding).
        mask: ``(B, T)`` True at real clicks.

    Returns:
        ``(B, B)`` ``D^-1 A`` with ``A_ij = |s_i & s_j| / |s_i | s_j|``, ``A_ii = 1``.
    """
    b = items.shape[0]
    ids = torch.where(mask, items, torch.zeros_like(items))
    uniq, inverse = torch.unique(ids, return_inverse=True)
    member = torch.zeros(b, len(uniq), device=items.device)
    member.scatter_(1, inverse, 1.0)
    if len(uniq) and int(uniq[0]) == 0:
        member[:, 0] = 0.0  # padding is no item
    inter = member @ member.T
    size = member.sum(1)
    union = size[:, None] + size[None, :] - inter
    adj = torch.where(union > 0, inter / union.clamp_min(1.0), torch.zeros_like(inter))
    adj.fill_diagonal_(1.0)
    return adj / adj.sum(1, keepdim=True)


class _HyperConv(torch.autograd.Function):
    """``R (S x)`` with the gradient ``S^T (R^T g)`` from precomputed CSR transposes
    (faster on CPU than autograd's own sparse backward)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, graph: Hypergraph) -> Tensor:
        ctx.graph = graph
        return graph.item_side @ (graph.edge_side @ x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        g: Hypergraph = ctx.graph
        return g.edge_side_t @ (g.item_side_t @ grad.contiguous()), None
