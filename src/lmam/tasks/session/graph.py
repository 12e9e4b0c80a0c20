"""The two graphs of DHCN: the item hypergraph and the sessions' line graph.

Hypergraph: every training session is a hyperedge over its (distinct) items.
With the incidence matrix ``H`` (``N`` items x ``M`` sessions), item degrees
``D = diag(H 1)`` and edge degrees ``B = diag(H^T 1)``, one convolution is
``X' = D^-1 H B^-1 H^T X`` (hyperedge weights ``W = I``). It is applied as two
sparse products, ``D^-1 H`` then ``B^-1 H^T``, each with ``nnz(H)`` entries
(762,120 on Diginetica), never as the ``N x N`` item adjacency. Each product is
one ``embedding_bag`` (a weighted sum of rows per bag) over the factor's CSR
arrays: the same sums as a CSR product, about twice as fast on a CPU
(``python -m bench.hyperconv``).

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
import torch.nn.functional as F
from torch import Tensor


class SparseRows:
    """A sparse ``(R, C)`` matrix as weighted bags of its CSR arrays: row ``r`` of
    ``self @ x`` is the sum of ``weights[k] * x[indices[k]]`` over its entries
    ``k``, computed by one ``embedding_bag``.

    Args:
        matrix: a sparse CSR ``(R, C)`` tensor.
    """

    def __init__(self, matrix: Tensor) -> None:
        self.shape = tuple(matrix.shape)
        self.indices = matrix.col_indices()
        self.offsets = matrix.crow_indices()[:-1]
        self.weights = matrix.values()

    def to(self, device: torch.device, dtype: torch.dtype | None = None) -> SparseRows:
        """Move (and cast the weights to ``dtype``) in place; returns ``self``."""
        self.indices = self.indices.to(device)
        self.offsets = self.offsets.to(device)
        self.weights = self.weights.to(device, dtype or self.weights.dtype)
        return self

    def __matmul__(self, x: Tensor) -> Tensor:
        """Args: x: ``(C, D)``. Returns ``(R, D)``."""
        out: Tensor = F.embedding_bag(
            self.indices, x, self.offsets, mode="sum", per_sample_weights=self.weights
        )
        return out

    def csr(self) -> Tensor:
        """The matrix as a sparse CSR ``(R, C)`` tensor."""
        crow = torch.cat([self.offsets, self.offsets.new_tensor([len(self.indices)])])
        return torch.sparse_csr_tensor(crow, self.indices, self.weights, self.shape)

    def dense(self) -> Tensor:
        """The matrix as a dense ``(R, C)`` tensor (for tests)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return self.csr().to_dense()


class Hypergraph:
    """The normalised factors of the item hypergraph, built once.

    Args:
        sessions: the hyperedges, item ids ``1..num_items`` (repeats ignored).
        num_items: ``N``.

    Attributes:
        item_side: ``(N, M)`` ``D^-1 H`` (rows of items in no edge are 0).
        edge_side: ``(M, N)`` ``B^-1 H^T``.
        item_side_t, edge_side_t: their transposes, for the backward pass.
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
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            self.item_side = _rows(item_side)
            self.edge_side = _rows(edge_side)
            self.item_side_t = _rows(item_side.t())
            self.edge_side_t = _rows(edge_side.t())

    def to(self, device: torch.device, dtype: torch.dtype | None = None) -> Hypergraph:
        """Move the factors to ``device`` (and their weights to ``dtype``), in place;
        returns ``self``."""
        for factor in (self.item_side, self.edge_side, self.item_side_t, self.edge_side_t):
            factor.to(device, dtype)
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


def _rows(matrix: Tensor) -> SparseRows:
    return SparseRows(matrix.coalesce().to_sparse_csr())


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
    """``R (S x)`` with the gradient ``S^T (R^T g)`` from precomputed transposes."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, graph: Hypergraph) -> Tensor:
        ctx.graph = graph
        return graph.item_side @ (graph.edge_side @ x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        g: Hypergraph = ctx.graph
        return g.edge_side_t @ (g.item_side_t @ grad.contiguous()), None
