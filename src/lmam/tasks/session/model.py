"""DHCN and DHCN* (DHCN with LMAM) for session recommendation.

Paper: Xia et al., "Self-Supervised Hypergraph Convolutional Networks for
Session-based Recommendation" (AAAI 2021). DHCN* is the LMAM paper's plug-in
(Shou et al., Section V-I, Table XIII).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.fusion import create_fusion
from lmam.tasks.session.graph import Hypergraph, line_graph


class DHCN(nn.Module):
    """The dual-channel hypergraph convolutional network.

    - Hypergraph channel: item embeddings ``X (N, D)`` convolved ``layers``
      times over the training hypergraph (:class:`Hypergraph`, sparse), the
      layers averaged. A session is read out with soft attention over its
      items with *reversed* position embeddings (the last click is position
      0): ``z_t = tanh(W_1 [p_t; x_t])``, ``a_t = f^T sigmoid(W_2 z_t + W_3 s̄)``
      with ``s̄`` the mean of the session's items, ``theta = sum_t a_t x_t``.
    - Line-graph channel: the batch's sessions as nodes (Jaccard overlap);
      each starts as the mean of its items' (unconvolved) embeddings and is
      convolved ``layers`` times, the layers averaged.
    - Self-supervised loss: the two channels' views of the same session are
      positives, a row-and-column shuffle of the line-graph views gives the
      negatives: ``-log sigmoid(<a, b>) - log(1 - sigmoid(<a, b~>))`` summed
      (computed as ``-logsigmoid(<a, b~>)`` terms: the authors' ``1e-8 + ...``
      form becomes ``log 0`` once float32 rounds ``sigmoid`` to 1).
    - Scores: ``theta X_h^T`` against all ``N`` items.

    DHCN* (``lmam=True``): LMAM replaces the concatenation ``[p_t; x_t]`` in
    the readout. The item sequence and its reversed position embeddings are
    the two "modalities", ``{item: (B, T, D), position: (B, T, D)}``, and
    ``z = LMAM(...)`` (``(B, T, D)``, ReLU output, then the same gate). This is
    the one place in DHCN where two different kinds of features of the same
    positions are fused, which is what LMAM is for (the two channels only
    meet in the loss, as whole-session vectors with no sequence to match).
    It also lets each position attend over the session's other positions,
    which plain DHCN's readout cannot: part of any gain may come from that.

    As in the authors' code, the line-graph channel starts from a detached copy
    of the item embeddings, so the self-supervised loss trains the hypergraph
    channel only (``detach_line=False``: it trains both, as lmam's DHCN did
    before), and ``W_1`` has a bias (``w1_bias=False``: none, as before).

    Departures from the authors' code: the hyperedges are the training
    *sessions* of the training split (the authors' code builds them from the
    prefix-expanded cases, which counts a long session many times); items in
    no hyperedge keep only their layer-0 share of the average instead of a
    division by zero; positions past ``max_len`` share the last embedding.

    Args:
        num_items: ``N``; item ids are ``1..N`` and 0 pads.
        graph: the training hypergraph.
        dim: embedding width ``D`` (100 in the paper).
        layers: convolution layers per channel (3).
        beta: weight of the self-supervised loss.
        max_len: number of position embeddings.
        lmam: build DHCN* (see above).
        lmam_rank: LMAM's query rank.
        detach_line: the line-graph channel reads a detached copy of the embeddings
            (the authors' code).
        w1_bias: ``W_1`` of the readout has a bias (the authors' code).
    """

    def __init__(
        self,
        num_items: int,
        graph: Hypergraph,
        *,
        dim: int = 100,
        layers: int = 3,
        beta: float = 0.01,
        max_len: int = 200,
        lmam: bool = False,
        lmam_rank: int = 45,
        detach_line: bool = True,
        w1_bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_items = num_items
        self.graph = graph
        self.dim = dim
        self.layers = layers
        self.beta = beta
        self.max_len = max_len
        self.detach_line = detach_line
        self.embedding = nn.Parameter(torch.empty(num_items, dim))
        self.position = nn.Embedding(max_len, dim)
        self.w_1 = nn.Linear(2 * dim, dim, bias=w1_bias)
        self.gate_item = nn.Linear(dim, dim)
        self.gate_mean = nn.Linear(dim, dim, bias=False)
        self.f = nn.Linear(dim, 1, bias=False)
        self.fusion = (
            create_fusion(
                "lmam", in_dims={"item": dim, "position": dim}, out_dim=dim, rank=lmam_rank
            )
            if lmam
            else None
        )
        stdv = 1.0 / dim**0.5
        for name, p in self.named_parameters():
            if not name.startswith("fusion."):  # LMAM keeps its own initialisation
                nn.init.uniform_(p, -stdv, stdv)

    # -- channels -------------------------------------------------------------
    def item_embeddings(self) -> Tensor:
        """The hypergraph channel's item embeddings ``X_h``: ``(N, D)``."""
        return self.graph.propagate(self.embedding, self.layers)

    def readout(self, table: Tensor, items: Tensor, mask: Tensor) -> Tensor:
        """Soft-attention session embedding.

        Args:
            table: ``(N, D)`` item embeddings.
            items: ``(B, T)`` ids, left-aligned, 0-padded.
            mask: ``(B, T)`` True at real clicks.
        Returns: ``(B, D)``.
        """
        padded = torch.cat([table.new_zeros(1, self.dim), table])
        seq = padded[items]  # (B, T, D)
        length = mask.sum(1, keepdim=True)  # (B, 1)
        t = torch.arange(items.shape[1], device=items.device)[None]
        rev = (length - 1 - t).clamp(0, self.max_len - 1)  # last click: 0
        pos = self.position(rev)
        maskf = mask.unsqueeze(-1).to(seq.dtype)
        mean = (seq * maskf).sum(1) / length.clamp_min(1)
        if self.fusion is None:
            z = torch.tanh(self.w_1(torch.cat([pos, seq], -1)))
        else:
            z = self.fusion({"item": seq, "position": pos}, mask)
        gate = torch.sigmoid(self.gate_item(z) + self.gate_mean(mean).unsqueeze(1))
        alpha = self.f(gate) * maskf  # (B, T, 1)
        return (alpha * seq).sum(1)

    def line_channel(self, items: Tensor, mask: Tensor) -> Tensor:
        """Line-graph session embeddings. Args: items, mask: ``(B, T)``. Returns ``(B, D)``."""
        embedding = self.embedding.detach() if self.detach_line else self.embedding
        padded = torch.cat([embedding.new_zeros(1, self.dim), embedding])
        maskf = mask.unsqueeze(-1).to(padded.dtype)
        theta = (padded[items] * maskf).sum(1) / maskf.sum(1).clamp_min(1)
        adj = line_graph(items, mask)
        total = theta
        for _ in range(self.layers):
            theta = adj @ theta
            total = total + theta
        return total / (self.layers + 1)

    # -- outputs -------------------------------------------------------------
    def forward(self, items: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Scores and the hypergraph channel's session embeddings.

        Args: items, mask: ``(B, T)``.
        Returns: scores ``(B, N)`` (column ``k`` is item ``k + 1``) and ``(B, D)``.
        """
        table = self.item_embeddings()
        session = self.readout(table, items, mask)
        return session @ table.T, session

    def ssl_loss(self, hyper: Tensor, line: Tensor) -> Tensor:
        """The channels' contrastive loss. Args: hyper, line: ``(B, D)``. Returns a scalar."""
        shuffled = line[torch.randperm(line.shape[0], device=line.device)]
        shuffled = shuffled[:, torch.randperm(line.shape[1], device=line.device)]
        pos = (hyper * line).sum(1)
        neg = (hyper * shuffled).sum(1)
        # log(1 - sigmoid(n)) = logsigmoid(-n): finite however large n is
        return (-F.logsigmoid(pos) - F.logsigmoid(-neg)).sum()

    def loss(self, items: Tensor, mask: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """Training loss (cross-entropy + ``beta`` x SSL) and the scores.

        Args: items, mask: ``(B, T)``; targets: ``(B,)`` item ids ``1..N``.
        Returns: the scalar loss and scores ``(B, N)``.
        """
        scores, hyper = self(items, mask)
        ce = F.cross_entropy(scores, targets - 1)
        if self.beta:
            ce = ce + self.beta * self.ssl_loss(hyper, self.line_channel(items, mask))
        return ce, scores
