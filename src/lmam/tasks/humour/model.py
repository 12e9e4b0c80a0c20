"""C-MFN and C-MFN* (with LMAM) for humour detection.

Paper: Hasan et al., "UR-FUNNY: A Multimodal Language Dataset for
Understanding Humor" (EMNLP 2019), Contextual Memory Fusion Network; MFN
from Zadeh et al., "Memory Fusion Network for Multi-view Sequential
Learning" (AAAI 2018). C-MFN* is the LMAM paper's plug-in (Shou et al.,
Section V-I, Table XIV).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.fusion import create_fusion

VARIANTS = ("full", "punchline", "context")


def _last_state(lstm: nn.Module, x: Tensor, mask: Tensor) -> Tensor:
    """The LSTM output at each sequence's last valid step (0 for an empty one).
    Args: x: ``(N, W, D)``; mask: ``(N, W)``. Returns ``(N, H)``."""
    out, _ = lstm(x)
    length = mask.sum(1)
    last = out[torch.arange(len(x), device=x.device), (length - 1).clamp_min(0)]
    return last * (length > 0).unsqueeze(1).to(last.dtype)


class ContextNetwork(nn.Module):
    """Unimodal context network (one word-level LSTM per modality over each
    context sentence) and multimodal context network (the sentences'
    modality vectors fused, then one self-attention encoder layer over the
    sentences and a masked mean).

    With ``lmam=True`` LMAM fuses the sentence-level modality vectors
    ``{m: (B, S, H)}`` (matching each sentence of one modality against the
    sentences of all modalities) where C-MFN concatenates them.

    Shapes: ``forward({m: (B, S, W, D_m)}, mask (B, S, W)) -> (B, D_ctx)``.
    """

    def __init__(
        self, in_dims: Mapping[str, int], hidden: int, out_dim: int, lmam: bool, rank: int
    ) -> None:
        super().__init__()
        self.modalities = tuple(in_dims)
        self.hidden = hidden
        self.lstm = nn.ModuleDict(
            {m: nn.LSTM(d, hidden, batch_first=True) for m, d in in_dims.items()}
        )
        self.fusion = (
            create_fusion(
                "lmam", in_dims=dict.fromkeys(self.modalities, hidden), out_dim=out_dim, rank=rank
            )
            if lmam
            else None
        )
        self.project = None if lmam else nn.Linear(hidden * len(self.modalities), out_dim)
        self.encoder = nn.TransformerEncoderLayer(
            out_dim, nhead=1, dim_feedforward=2 * out_dim, dropout=0.1, batch_first=True
        )
        self.out_dim = out_dim

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        b, s, w = mask.shape
        flat = mask.reshape(b * s, w)
        sent = {
            m: _last_state(self.lstm[m], feats[m].reshape(b * s, w, -1), flat).view(b, s, -1)
            for m in self.modalities
        }
        sent_mask = mask.any(2)  # (B, S)
        if self.project is not None:
            x = self.project(torch.cat([sent[m] for m in self.modalities], -1))
        else:
            assert self.fusion is not None
            x = self.fusion(sent, sent_mask)
        has = sent_mask.any(1)  # segments with no context sentence at all
        pad = ~sent_mask
        pad[~has, 0] = False  # one dummy position keeps attention defined
        x = self.encoder(x, src_key_padding_mask=pad)
        keep = (~pad & has[:, None]).unsqueeze(-1).to(x.dtype)
        return (x * keep).sum(1) / keep.sum(1).clamp_min(1)


class MFN(nn.Module):
    """Memory Fusion Network over the punchline: one LSTM cell per modality,
    delta-memory attention over the concatenated memories of steps ``t-1``
    and ``t``, and a multi-view gated memory ``u``.

    Shapes: ``forward({m: (B, T, D_m)}, mask (B, T), init (B, D_ctx) or None)
    -> (B, M * H + D_mem)``: the last hidden states and the memory.
    """

    def __init__(
        self, in_dims: Mapping[str, int], hidden: int, memory: int, context_dim: int | None
    ) -> None:
        super().__init__()
        self.modalities = tuple(in_dims)
        self.hidden = hidden
        self.memory = memory
        self.cells = nn.ModuleDict({m: nn.LSTMCell(d, hidden) for m, d in in_dims.items()})
        total = 2 * hidden * len(self.modalities)
        self.attention = nn.Sequential(nn.Linear(total, total), nn.ReLU(), nn.Linear(total, total))
        self.proposal = nn.Sequential(
            nn.Linear(total, memory), nn.ReLU(), nn.Linear(memory, memory)
        )
        self.gamma1 = nn.Sequential(
            nn.Linear(total + memory, memory), nn.ReLU(), nn.Linear(memory, memory)
        )
        self.gamma2 = nn.Sequential(
            nn.Linear(total + memory, memory), nn.ReLU(), nn.Linear(memory, memory)
        )
        self.init = (
            nn.Linear(context_dim, memory + 2 * hidden * len(self.modalities))
            if context_dim
            else None
        )
        self.out_dim = hidden * len(self.modalities) + memory

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor, init: Tensor | None) -> Tensor:
        b, t = mask.shape
        n, hd = len(self.modalities), self.hidden
        x0 = next(iter(feats.values()))
        if init is not None and self.init is not None:
            start = torch.tanh(self.init(init))
            u = start[:, : self.memory]
            hs = list(start[:, self.memory :].view(b, 2, n, hd).unbind(2))
            h = [s[:, 0] for s in hs]
            c = [s[:, 1] for s in hs]
        else:
            u = x0.new_zeros(b, self.memory)
            h = [x0.new_zeros(b, hd) for _ in range(n)]
            c = [x0.new_zeros(b, hd) for _ in range(n)]
        for step in range(t):
            keep = mask[:, step].unsqueeze(1)
            new = [
                self.cells[m](feats[m][:, step], (h[i], c[i]))
                for i, m in enumerate(self.modalities)
            ]
            h_new = [hc[0] for hc in new]
            c_new = [hc[1] for hc in new]
            c_star = torch.cat([*c, *c_new], 1)  # (B, 2 M H)
            attended = F.softmax(self.attention(c_star), 1) * c_star
            proposal = torch.tanh(self.proposal(attended))
            both = torch.cat([attended, u], 1)
            u_new = (
                torch.sigmoid(self.gamma1(both)) * u + torch.sigmoid(self.gamma2(both)) * proposal
            )
            u = torch.where(keep, u_new, u)
            h = [torch.where(keep, a, o) for a, o in zip(h_new, h)]
            c = [torch.where(keep, a, o) for a, o in zip(c_new, c)]
        return torch.cat([*h, u], 1)


class CMFN(nn.Module):
    """C-MFN and its ablations; ``lmam=True`` gives C-MFN*.

    - ``variant="full"``: the context network's output initialises the MFN's
      hidden states, cells and memory; the MFN reads the punchline.
    - ``"punchline"`` (C-MFN (P)): the MFN alone, from zero states.
    - ``"context"`` (C-MFN (C)): the context network alone.

    Where LMAM goes (C-MFN*): at the two places where the modalities meet
    before any cross-modal modelling. (1) In the context network, LMAM
    replaces the concatenation of each sentence's modality vectors (see
    :class:`ContextNetwork`). (2) Before the MFN, LMAM fuses the punchline's
    word-aligned sequences ``{m: (B, T, D_m)}`` into ``(B, T, d)``, and every
    modality's LSTM cell reads ``[x_m; fused]``: the MFN's own attention and
    gated memory stay as they are, so the comparison isolates the plug-in.
    With a single modality, LMAM is self-attention over that modality.

    Departures from the paper: the context network's sentence encoder is one
    LSTM per modality and one self-attention layer (the paper: a stack of
    transformer layers); no dropout tuning or hyper-parameter search;
    hidden widths are options (defaults small).

    Args:
        in_dims: ``{modality: width}`` of the modalities in use.
        variant: ``"full"``, ``"punchline"`` or ``"context"``.
        lmam: C-MFN*.
        hidden: per-modality LSTM width.
        memory: MFN memory width.
        context_dim: context network output width.
        rank: LMAM's query rank.

    Shapes: ``forward(punch {m: (B, T, D_m)}, punch_mask (B, T), context
    {m: (B, S, W, D_m)}, context_mask (B, S, W)) -> (B,)`` logits of humour.
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        *,
        variant: str = "full",
        lmam: bool = False,
        hidden: int = 32,
        memory: int = 32,
        context_dim: int = 32,
        rank: int = 16,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        self.modalities = tuple(in_dims)
        self.context = (
            ContextNetwork(in_dims, hidden, context_dim, lmam, rank)
            if variant != "punchline"
            else None
        )
        self.fusion = None
        self.mfn = None
        if variant != "context":
            mfn_dims = dict(in_dims)
            if lmam:
                width = min(hidden, *in_dims.values())
                self.fusion = create_fusion("lmam", in_dims=in_dims, out_dim=width, rank=rank)
                mfn_dims = {m: d + width for m, d in in_dims.items()}
            self.mfn = MFN(mfn_dims, hidden, memory, context_dim if variant == "full" else None)
        width = self.mfn.out_dim if self.mfn is not None else context_dim
        self.head = nn.Sequential(
            nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 1)
        )

    def forward(
        self,
        punch: Mapping[str, Tensor],
        punch_mask: Tensor,
        context: Mapping[str, Tensor],
        context_mask: Tensor,
    ) -> Tensor:
        ctx = self.context(context, context_mask) if self.context is not None else None
        if self.mfn is None:
            assert ctx is not None
            return self.head(ctx).squeeze(1)
        feats = {m: punch[m] for m in self.modalities}
        if self.fusion is not None:
            fused = self.fusion(feats, punch_mask)
            feats = {m: torch.cat([x, fused], -1) for m, x in feats.items()}
        return self.head(self.mfn(feats, punch_mask, ctx)).squeeze(1)
