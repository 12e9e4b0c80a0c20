"""DialogueGCN (Ghosal et al., EMNLP 2019): a relational graph over a dialogue's utterances.

1. Sequential context: a bidirectional GRU over each dialogue's utterances,
   ``g_i`` (width ``2 d_e``).
2. Graph: one node per utterance; a directed edge ``j -> i`` from every
   utterance ``j`` of the same dialogue at most ``window_past`` utterances
   before and ``window_future`` after ``i`` (``i`` itself included). Its
   relation is (party of ``j``, party of ``i``, ``j`` before ``i`` or not):
   ``2 S^2`` relations for ``S = num_speakers``, index
   ``2 (S s_j + s_i) + [j >= i]``; its weight is the attention of ``i`` over its
   window, ``a_ij = softmax_j(g_i^T W_e g_j)``.
3. Speaker-level context, two graph layers:
   ``h_i = ReLU(W_0 g_i + b + sum_(j -> i) a_ij W_r(j,i) g_j)`` with basis
   decomposition ``W_r = sum_b c_rb V_b`` (``num_bases``), then
   ``h'_i = ReLU(W'_0 h_i + b' + W' sum_(j -> i) h_j)`` (``GraphConv``).
4. ``[g_i; h'_i]``, optionally every utterance's matching attention over its
   dialogue (``attention``, ``general2``), then a dense layer (ReLU, dropout).

The batch is one disjoint graph built with tensor operations; each dialogue's
speakers are renumbered ``0 .. P - 1`` (in increasing id order) and a dialogue
with more than ``num_speakers`` parties is refused with a ``ValueError``.

Departures: the paper's normalisation ``1 / |N_i^r|`` of the first layer is
left out and the edge weights are normalised over the target's window, as the
paper's attention is written (the reference implementation, ``declare-lab/
conv-emotion``, scores an edge with a position-dependent linear map of the
source and normalises over the source's window, and sums without ``1 /
|N_i^r|`` too); the ReLU after each graph layer is the paper's (the reference
has none); the sequential encoder is the paper's one-layer bidirectional GRU
(the reference uses a two-layer LSTM). Defaults are the reference's: ``d_e =
100``, graph width 100, ``d_h = 100``, window 10/10, 30 bases, dropout 0.5 after
the dense layer and none on the sequential features, the relational weights
uniform in ``+-1/sqrt(30 in_dim)`` (options ``sequence_dropout`` and
``relational_init="xavier"`` give the earlier versions of lmam's: dropout on the
sequential features too, Xavier initialisation).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lmam.models.registry import register_backbone
from lmam.nn.graph import checked_parties, node_table, require_torch_geometric, window_edges
from lmam.nn.masking import unpack_rows
from lmam.nn.matching_attention import MatchingAttention
from lmam.nn.options import choice, positive_int
from lmam.nn.rnn import BiRNN
from lmam.space import Int

RELATIONAL_INITS = ("reference", "xavier")


def window(name: str, value: object) -> int:
    """``value`` if it is a non-negative int, else a ``ValueError`` naming the option."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


class RelationalGraphConv(nn.Module):
    """A relational graph convolution with basis decomposition and edge weights:
    ``out_i = W_0 x_i + b + sum_(j -> i) w_ji W_r(ji) x_j``, ``W_r = sum_b c_rb V_b``.

    Args:
        in_dim, out_dim: widths.
        num_relations: ``R``; num_bases: ``B`` (the bases ``V_b`` are shared by all relations).
        init: ``"reference"`` (every weight and bias uniform in ``+-1/sqrt(B in_dim)``, as
            the reference's ``RGCNConv``) or ``"xavier"`` (Xavier-uniform bases and
            coefficients, torch's default root).

    ``forward(x: (N, in_dim), edge_index: (2, E), edge_type: (E,), edge_weight: (E,))
    -> (N, out_dim)``.
    """

    def __init__(
        self, in_dim: int, out_dim: int, num_relations: int, num_bases: int, init: str = "reference"
    ) -> None:
        super().__init__()
        self.num_relations = num_relations
        self.bases = nn.Parameter(torch.empty(num_bases, in_dim, out_dim))
        self.comp = nn.Parameter(torch.empty(num_relations, num_bases))
        self.root = nn.Linear(in_dim, out_dim)
        if choice("relational_init", init, RELATIONAL_INITS) == "reference":
            # the reference's RGCNConv: every weight and the bias uniform in +-1/sqrt(B * in)
            bound = 1.0 / math.sqrt(num_bases * in_dim)
            for weight in (self.bases, self.comp, self.root.weight, self.root.bias):
                nn.init.uniform_(weight, -bound, bound)
        else:
            nn.init.xavier_uniform_(self.bases)
            nn.init.xavier_uniform_(self.comp)

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_type: Tensor, edge_weight: Tensor
    ) -> Tensor:
        from torch_geometric.utils import scatter

        weight = torch.einsum("rb,bio->rio", self.comp, self.bases)  # (R, in, out)
        per_relation = torch.einsum("ni,rio->nro", x, weight).flatten(0, 1)  # (N R, out)
        source, target = edge_index
        message = per_relation[source * self.num_relations + edge_type] * edge_weight.unsqueeze(1)
        return self.root(x) + scatter(message, target, 0, dim_size=x.shape[0], reduce="sum")


class DialogueGCNEncoder(nn.Module):
    """DialogueGCN over a batch of conversations.

    Args:
        in_dim: utterance feature width ``D_in``.
        d_e: GRU width per direction (sequential features ``2 d_e``).
        graph_hidden: width of the two graph layers.
        d_h: output (dense) width.
        num_speakers: the most parties a dialogue may have (``S``).
        window_past, window_future: the edge window.
        num_bases: bases of the relational layer.
        attention: matching attention over the dialogue before the dense layer.
        dropout: dropout after the dense layer.
        sequence_dropout: dropout on the sequential features (the reference has none).
        relational_init: the relational layer's initialisation, ``"reference"`` or
            ``"xavier"`` (see :class:`RelationalGraphConv`).

    ``forward(x: (B, T, D_in), mask: (B, T), speakers: (B, T)) -> (B, T, d_h)``.
    """

    def __init__(
        self,
        in_dim: int,
        d_e: int = 100,
        graph_hidden: int = 100,
        d_h: int = 100,
        num_speakers: int = 2,
        window_past: int = 10,
        window_future: int = 10,
        num_bases: int = 30,
        attention: bool = False,
        dropout: float = 0.5,
        sequence_dropout: float = 0.0,
        relational_init: str = "reference",
    ) -> None:
        super().__init__()
        require_torch_geometric("dialoguegcn")
        from torch_geometric.nn import GraphConv

        self.num_speakers = positive_int("num_speakers", num_speakers)
        self.window_past = window("window_past", window_past)
        self.window_future = window("window_future", window_future)
        positive_int("num_bases", num_bases)
        seq = 2 * d_e
        self.rnn = BiRNN(in_dim, d_e, "gru")
        self.edge_attention = nn.Linear(seq, seq, bias=False)
        self.conv1 = RelationalGraphConv(
            seq, graph_hidden, 2 * num_speakers**2, num_bases, relational_init
        )
        self.conv2 = GraphConv(graph_hidden, graph_hidden, aggr="add")
        width = seq + graph_hidden
        self.attention = MatchingAttention(width, width, att_type="general2") if attention else None
        self.dense = nn.Linear(width, d_h)
        self.drop = nn.Dropout(dropout)
        self.sequence_drop = nn.Dropout(sequence_dropout)
        self.out_dim = d_h

    def graph(self, g: Tensor, keep: Tensor, party: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The batch's disjoint graph over its real utterances (nodes: see
        :func:`~lmam.nn.graph.node_table`).

        Args:
            g: ``(B, T, 2 d_e)`` sequential features.
            keep: ``(B, T)`` boolean, true at real utterances.
            party: ``(B, T)`` each utterance's party, ``< num_speakers``.

        Returns:
            ``edge_index``: ``(2, E)`` rows (source, target); ``edge_type``: ``(E,)``;
            ``edge_weight``: ``(E,)``, summing to 1 over each target's window.
        """
        from torch_geometric.utils import softmax

        _, dialogue, position = node_table(keep)
        nodes = g[keep]  # (N, 2 d_e)
        edge_index = window_edges(keep, self.window_past, self.window_future)
        source, target = edge_index
        spk = party[dialogue, position]
        later = (position[source] >= position[target]).long()
        edge_type = 2 * (self.num_speakers * spk[source] + spk[target]) + later
        scores = (nodes[target] * self.edge_attention(nodes)[source]).sum(-1)
        edge_weight = softmax(scores, target, num_nodes=nodes.shape[0])
        return edge_index, edge_type, edge_weight

    def forward(self, x: Tensor, mask: Tensor, speakers: Tensor) -> Tensor:
        keep = mask.to(torch.bool)
        party = checked_parties(speakers, keep, self.num_speakers)
        g = self.sequence_drop(self.rnn(x, keep))
        edge_index, edge_type, edge_weight = self.graph(g, keep, party)
        h = torch.relu(self.conv1(g[keep], edge_index, edge_type, edge_weight))
        h = torch.relu(self.conv2(h, edge_index))
        out = torch.cat([g, unpack_rows(h, keep).to(g.dtype)], dim=-1)
        if self.attention is not None:
            out, _ = self.attention(out, out, keep)
        out = self.drop(torch.relu(self.dense(out)))
        return out.masked_fill(~keep.unsqueeze(-1), 0.0)


register_backbone(
    "dialoguegcn",
    DialogueGCNEncoder,
    label="DialogueGCN",
    description="DialogueGCN with any fusion at any embedding point.",
    width_option="graph_hidden",
    dropout_origin="DialogueGCN's training script (--dropout 0.5)",
    space={
        "graph_hidden": Int(50, 200, step=50),
        "d_h": Int(50, 200, step=50),
        "window_past": Int(2, 12, step=2),
        "window_future": Int(2, 12, step=2),
    },
    head_dropout=False,  # its dropout after the dense layer is the reference's, before the classifier
)
