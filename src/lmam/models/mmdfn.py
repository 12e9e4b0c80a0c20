"""MM-DFN (Hu et al., ICASSP 2022): a multimodal graph with graph-based dynamic fusion.

1. Modality encoders: per modality a linear map to ``hidden``, then (for the
   modalities in ``recurrent``, the text by default) a bidirectional GRU of
   ``rnn_layers`` layers; a speaker embedding (each dialogue's parties
   renumbered ``0 .. P - 1``) is added to every modality: ``x_m,i``.
2. Graph: one node per (modality, utterance). Intra-modal edges link the
   utterances of one dialogue and modality (all pairs, self-loops included;
   with ``window=w`` only those at most ``w`` apart), inter-modal edges the
   modalities of one utterance. An edge's weight is the angular similarity
   of its nodes, ``1 - arccos(0.99999 cos(x_a, x_b)) / pi`` (times
   ``modal_weight`` between modalities), and the adjacency is normalised
   ``D^-1/2 A D^-1/2``.
3. Graph-based dynamic fusion, ``layers`` layers over
   ``H^(0) = ReLU(W x)`` (width ``graph_hidden``): at layer ``k`` an LSTM cell,
   shared by the layers, reads ``H^(k-1)`` with the state it carried from
   layer ``k-1`` (its gates decide how much of the earlier layers' context is
   kept and forgotten); a GCNII convolution of its output (initial residual to
   ``H^(0)`` with ``alpha``, identity mapping with ``beta_k = log(lamda/k + 1)``,
   :class:`torch_geometric.nn.GCN2Conv`), ReLU and dropout; plus ``H^(k-1)``.
4. Per node ``ReLU([x; H^(L)])``, returned per modality (``{m: (B, T, hidden +
   graph_hidden)}``, which the model concatenates before its classifier).

The batch is one disjoint graph built with tensor operations.

Departures from the authors' code (``zerohd4869/MM-DFN``): its GCNII
"variant" layer ``beta (P H W_1 + H0 W_2) + (1 - beta)((1 - alpha) P H + alpha H0)``
is PyG's with separate weights, ``(1 - alpha) P H ((1 - beta) I + beta W_1) +
alpha H0 ((1 - beta) I + beta W_2)``, which differs only in the scale of the
weights; the speaker embedding is added to every modality (their code adds it
to the text only, when enabled, and by default adds instead a per-party GRU
over each speaker's utterances weighted 3/0/1 for audio/visual/text, which is
left out); the cosine of a zero vector is taken as 0. Defaults are their
IEMOCAP script's: ``hidden = 200``, ``graph_hidden = 100``, 16 layers,
``alpha = 0.2``, ``lamda = 0.5``, dropout 0.4, text through a two-layer GRU,
audio and visual through a linear map only.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from lmam.models.registry import register_backbone
from lmam.nn.graph import checked_parties, node_table, require_torch_geometric, window_edges
from lmam.nn.masking import unpack_rows
from lmam.nn.options import positive_int
from lmam.nn.rnn import BiRNN
from lmam.space import Int


def angular(cos: Tensor) -> Tensor:
    """The angular similarity ``1 - arccos(0.99999 cos) / pi`` of cosines ``cos``."""
    return 1.0 - torch.acos(0.99999 * cos) / math.pi


def multimodal_graph(
    nodes: Tensor, keep: Tensor, num_modalities: int, window: int | None, modal_weight: float
) -> tuple[Tensor, Tensor]:
    """The batch's multimodal graph, normalised.

    Args:
        nodes: ``(M N, D)`` node features, modality-major: node ``m N + n`` is
            utterance ``n`` (see :func:`~lmam.nn.graph.node_table`) in modality ``m``.
        keep: ``(B, T)`` boolean, true at real utterances.
        num_modalities: ``M``.
        window: intra-modal edges only between utterances at most this far apart.
        modal_weight: factor of the inter-modal weights.

    Returns:
        ``edge_index``: ``(2, E)`` (both directions of every edge, self-loops
        once); ``edge_weight``: ``(E,)``, ``D^-1/2 A D^-1/2``.
    """
    from torch_geometric.utils import scatter

    m_count = num_modalities
    _, dialogue, position = node_table(keep)
    n = dialogue.numel()
    unit = nodes / nodes.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    per_modality = unit.view(m_count, n, -1)
    # intra-modal cosines of every dialogue at once: (M, B, T, T)
    padded = unit.new_zeros(m_count, *keep.shape, unit.shape[1])
    padded[:, dialogue, position] = per_modality
    cosines = padded @ padded.transpose(-1, -2)
    intra = window_edges(keep, window, window)  # (2, E_u) over utterances
    src_u, dst_u = intra
    shift = torch.arange(m_count, device=keep.device) * n
    edges = [(intra.unsqueeze(1) + shift.view(1, -1, 1)).flatten(1)]
    weights = [angular(cosines[:, dialogue[dst_u], position[src_u], position[dst_u]]).flatten()]
    pairs = [(a, b) for a in range(m_count) for b in range(m_count) if a != b]
    if pairs:
        utt = torch.arange(n, device=keep.device)
        src = torch.tensor([a for a, _ in pairs], device=keep.device)
        dst = torch.tensor([b for _, b in pairs], device=keep.device)
        edges.append(
            torch.stack([(src * n).unsqueeze(1) + utt, (dst * n).unsqueeze(1) + utt]).flatten(1)
        )
        cos = (per_modality[src] * per_modality[dst]).sum(-1)  # (P, N)
        weights.append(modal_weight * angular(cos).flatten())
    edge_index = torch.cat(edges, 1)
    source, target = edge_index
    weight = torch.cat(weights)
    degree = scatter(weight, target, 0, dim_size=nodes.shape[0], reduce="sum")
    scale = degree.clamp(min=1e-12).rsqrt()
    return edge_index, scale[source] * weight * scale[target]


class MMDFNEncoder(nn.Module):
    """MM-DFN over a batch of conversations; multimodal by design.

    Args:
        in_dims: ``{m: D_m}``.
        hidden: node width (modality encoders' output).
        graph_hidden: width of the dynamic fusion layers.
        layers: number of graph layers.
        alpha, lamda: GCNII's initial-residual weight and identity-mapping strength.
        num_speakers: the most parties a dialogue may have.
        recurrent: modalities encoded by a bidirectional GRU after the linear map.
        rnn_layers: layers of those GRUs.
        window: intra-modal edge window (``None``: the whole dialogue).
        modal_weight: factor of the inter-modal edge weights.
        dropout: dropout in the GRUs' stack, the graph and on the node features.

    ``forward(feats: {m: (B, T, D_m)}, mask: (B, T), speakers: (B, T))
    -> {m: (B, T, hidden + graph_hidden)}`` (zeros at padding).
    """

    multimodal = True

    def __init__(
        self,
        in_dims: Mapping[str, int],
        hidden: int = 200,
        graph_hidden: int = 100,
        layers: int = 16,
        alpha: float = 0.2,
        lamda: float = 0.5,
        num_speakers: int = 2,
        recurrent: tuple[str, ...] = ("text",),
        rnn_layers: int = 2,
        window: int | None = None,
        modal_weight: float = 1.0,
        dropout: float = 0.4,
    ) -> None:
        super().__init__()
        require_torch_geometric("mmdfn")
        from torch_geometric.nn import GCN2Conv

        self.modalities = tuple(in_dims)
        self.num_speakers = positive_int("num_speakers", num_speakers)
        positive_int("layers", layers)
        positive_int("rnn_layers", rnn_layers)
        if window is not None and (not isinstance(window, int) or window < 0):
            raise ValueError(f"window must be None or a non-negative int, got {window!r}")
        if isinstance(recurrent, str) or not all(isinstance(m, str) for m in recurrent):
            raise ValueError(f"recurrent must be a tuple of modality names, got {recurrent!r}")
        if any(m in in_dims for m in recurrent) and hidden % 2:
            raise ValueError(f"hidden must be even with a recurrent modality, got {hidden}")
        self.window = window
        self.modal_weight = float(modal_weight)
        self.proj = nn.ModuleDict({m: nn.Linear(d, hidden) for m, d in in_dims.items()})
        self.rnns = nn.ModuleDict(
            {
                m: nn.ModuleList(BiRNN(hidden, hidden // 2, "gru") for _ in range(rnn_layers))
                for m in in_dims
                if m in recurrent
            }
        )
        self.speaker = nn.Embedding(num_speakers, hidden)
        self.fc0 = nn.Linear(hidden, graph_hidden)
        self.cell = nn.LSTMCell(graph_hidden, graph_hidden)
        self.convs = nn.ModuleList(
            GCN2Conv(graph_hidden, alpha, lamda, k + 1, shared_weights=False, normalize=False)
            for k in range(layers)
        )
        self.drop = nn.Dropout(dropout)
        self.out_dims = dict.fromkeys(self.modalities, hidden + graph_hidden)

    def encode(self, feats: Mapping[str, Tensor], keep: Tensor, party: Tensor) -> Tensor:
        """Node features ``(M N, hidden)``, modality-major (see :func:`multimodal_graph`)."""
        spk = self.speaker(party)
        nodes = []
        for m in self.modalities:
            u = self.proj[m](feats[m])
            if m in self.rnns:
                stack = self.rnns[m]
                assert isinstance(stack, nn.ModuleList)
                for k, rnn in enumerate(stack):
                    u = rnn(self.drop(u) if k else u, keep)
            nodes.append((u + spk)[keep])
        return torch.cat(nodes)

    def forward(
        self, feats: Mapping[str, Tensor], mask: Tensor, speakers: Tensor
    ) -> dict[str, Tensor]:
        keep = mask.to(torch.bool)
        party = checked_parties(speakers, keep, self.num_speakers)
        # the graph in float32 even under autocast: its edge weights (an arccos of cosine
        # similarities) leave [-1, 1] in bfloat16, and sparse CSR products have no
        # bfloat16 kernel on the CPU
        x = self.encode(feats, keep, party)
        with torch.autocast(keep.device.type, enabled=False):
            x = x.float()
            edge_index, edge_weight = multimodal_graph(
                x, keep, len(self.modalities), self.window, self.modal_weight
            )
            # P H as one sparse product (rows: targets); the graph is symmetric
            size = (x.shape[0], x.shape[0])
            adj = torch.sparse_coo_tensor(
                edge_index.flip(0), edge_weight, size, check_invariants=False
            )
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                adj = adj.coalesce().to_sparse_csr()
            x = self.drop(x)
            h0 = torch.relu(self.fc0(x))
            h = self.drop(h0)
            state = (torch.zeros_like(h), torch.zeros_like(h))
            for conv in self.convs:
                q = h
                state = self.cell(q, state)
                h = self.drop(torch.relu(conv(state[0], h0, adj))) + q
            out = torch.relu(torch.cat([x, h], -1)).chunk(len(self.modalities))
        return {m: unpack_rows(o, keep) for m, o in zip(self.modalities, out)}


register_backbone(
    "mmdfn",
    MMDFNEncoder,
    label="MM-DFN",
    description='MM-DFN; by default with its own fusion only (``fusion="none"``), else with '
    "any fusion at any embedding point.",
    multimodal=True,
    own_fusion=True,
    width_option="hidden",
    width_step=2,  # its bidirectional hidden size is even
    dropout_origin="MM-DFN's IEMOCAP setting (dropout 0.4)",
    space={
        "hidden": Int(100, 300, step=50),
        "graph_hidden": Int(50, 200, step=50),
        "layers": Int(4, 16, step=4),
    },
)
