"""DialogueRNN (Majumder et al., AAAI 2019): global, party and emotion GRUs.

At utterance ``t`` of speaker ``s`` (``u_t``: the utterance's features)::

    g_t   = GRU_G([u_t; q_s,t-1], g_t-1)                 global state
    c_t   = attention of u_t over g_1 .. g_t-1           context (0 at t = 1)
    q_s,t = GRU_P([u_t; c_t], q_s,t-1)                   speaker update
    q_l,t = GRU_L([u_t; q_s,t], q_l,t-1)  (listeners; option, else q_l,t = q_l,t-1)
    e_t   = GRU_E(q_s,t, e_t-1)                          emotion state

Variants: DialogueRNN (one direction), BiDialogueRNN (a second DialogueRNN on
the reversed conversation, emotion states concatenated) and BiDialogueRNN+Att
(every emotion state attends over all of them with ``general2`` matching
attention; the paper's best variant, our default); then a dense layer (ReLU).
The context attention is ``simple``, ``dot``, ``general``, ``general2`` or
``concat`` (:class:`~lmam.nn.matching_attention.MatchingAttention`).

Departures from the reference implementation (``declare-lab/conv-emotion``),
none of which changes a real utterance's output: the parties are read from
the speaker ids, any number per dialogue; the dialogues of a batch are sorted
by length so that step ``t`` runs only on the dialogues that are still going
(padded steps are not computed), and the party GRU runs only on the speaker
(and, with ``listener=True``, the dialogue's other parties), not on every
party slot. Defaults ``D_g = D_p = 150``, ``D_e = D_h = 100``, ``general``
attention, no listener update and recurrent dropout 0.1 are those of the
reference's MELD script (its IEMOCAP script uses 500-wide states); they were
not tuned here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from lmam.models.registry import register_backbone
from lmam.nn.cross_attention import StepCache
from lmam.nn.graph import local_parties
from lmam.nn.matching_attention import MatchingAttention
from lmam.nn.rnn import reverse_padded
from lmam.space import Float, Int


@dataclass
class StepState:
    """What one dialogue carries between utterances (:meth:`DialogueRNNEncoder.step`):
    the global states so far ``(1, t, D_g)``, each speaker's party state ``(1, D_p)``
    and the last emotion state ``(1, D_e)``; and, for a causal attention fusion in
    front of it, that fusion's cache (:meth:`lmam.models.ERCModel.step`)."""

    globals: Tensor | None = None
    parties: dict[int, Tensor] = field(default_factory=dict)
    emotion: Tensor | None = None
    fusion: StepCache = field(default_factory=StepCache)


class DialogueRNNDirection(nn.Module):
    """One direction of DialogueRNN: the emotion states of every utterance.

    Args:
        in_dim: ``D_m``; global, party and emotion widths ``D_g``, ``D_p``, ``D_e``.
        listener: update the listeners' states too.
        att_type: the context attention's type; ``att_dim``: its ``concat`` width.
        dropout: dropout on the new global, party and emotion states.

    ``forward(x: (B, T, D_m), keep: (B, T), party: (B, T), count: (B,)) -> (B, T, D_e)``.
    """

    def __init__(
        self,
        in_dim: int,
        d_g: int,
        d_p: int,
        d_e: int,
        listener: bool,
        att_type: str,
        att_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.d_g, self.d_p, self.d_e = d_g, d_p, d_e
        self.g_cell = nn.GRUCell(in_dim + d_p, d_g)
        self.p_cell = nn.GRUCell(in_dim + d_g, d_p)
        self.l_cell = nn.GRUCell(in_dim + d_p, d_p) if listener else None
        self.e_cell = nn.GRUCell(d_p, d_e)
        self.attention = MatchingAttention(d_g, in_dim, att_dim, att_type)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, keep: Tensor, party: Tensor, count: Tensor) -> Tensor:
        b, t_pad, _ = x.shape
        lengths = keep.sum(1)
        order = torch.argsort(lengths, descending=True, stable=True)
        x, party, count = x[order], party[order], count[order]
        lens = lengths[order].tolist()
        n_parties = max(int(count.max()), 1)
        active = [sum(1 for n in lens if n > t) for t in range(lens[0] if lens else 0)]
        rows = torch.arange(b, device=x.device) * n_parties
        real_party = torch.arange(n_parties, device=x.device) < count.unsqueeze(1)  # (B, P)
        q = x.new_zeros(b * n_parties, self.d_p)
        g_mem = x.new_zeros(b, 0, self.d_g)  # g_1 .. g_t-1 of the dialogues still going
        e = x.new_zeros(b, self.d_e)
        outs: list[Tensor] = []
        # one view per step: the backward of x[:n, t] would build a zero gradient
        # of x's full size at every step (quadratic when x needs a gradient)
        steps = x.unbind(1)
        for t, n in enumerate(active):
            u = steps[t][:n]
            spk = rows[:n] + party[:n, t]
            q_spk = q[spk]
            g_prev = g_mem[:n, -1] if t > 0 else x.new_zeros(n, self.d_g)
            g = self.drop(self.g_cell(torch.cat([u, q_spk], 1), g_prev))
            if t > 0:
                c, _ = self.attention(g_mem[:n], u)
            else:
                c = x.new_zeros(n, self.d_g)
            q_new = self.drop(self.p_cell(torch.cat([u, c], 1), q_spk))
            idx = spk
            if self.l_cell is not None:
                listens = real_party[:n].clone()
                listens[torch.arange(n, device=x.device), party[:n, t]] = False
                who, which = listens.nonzero(as_tuple=True)
                if len(who):
                    li = rows[who] + which
                    heard = torch.cat([u[who], q_new[who]], 1)
                    q_l = self.drop(self.l_cell(heard, q[li]))
                    idx = torch.cat([spk, li])
                    q_new = torch.cat([q_new, q_l])
            e = self.drop(self.e_cell(q_new[:n], e[:n]))
            q = q.index_copy(0, idx, q_new)
            g_mem = torch.cat([g_mem[:n], g.unsqueeze(1)], 1)
            outs.append(nn.functional.pad(e, (0, 0, 0, b - n)))
        out = torch.stack(outs, 1) if outs else x.new_zeros(b, 0, self.d_e)
        out = nn.functional.pad(out, (0, 0, 0, t_pad - out.shape[1]))
        return out[torch.argsort(order)]

    def step(self, u: Tensor, speaker: int, state: StepState) -> Tensor:
        """The emotion state of one more utterance of one dialogue, updating ``state``
        (the computation of :meth:`forward` at that step; without listeners).

        Args:
            u: ``(1, D_m)``, the utterance.
            speaker: its speaker (any id; a new one starts from a zero party state).

        Returns:
            ``(1, D_e)``.
        """
        if self.l_cell is not None:
            raise ValueError("a step without the whole dialogue needs listener=False")
        q_spk = state.parties.get(speaker, u.new_zeros(1, self.d_p))
        g_mem = state.globals
        g_prev = g_mem[:, -1] if g_mem is not None else u.new_zeros(1, self.d_g)
        g = self.drop(self.g_cell(torch.cat([u, q_spk], 1), g_prev))
        if g_mem is not None:
            c, _ = self.attention(g_mem, u)
        else:
            c = u.new_zeros(1, self.d_g)
        q_new = self.drop(self.p_cell(torch.cat([u, c], 1), q_spk))
        e_prev = state.emotion if state.emotion is not None else u.new_zeros(1, self.d_e)
        e = self.drop(self.e_cell(q_new, e_prev))
        state.parties[speaker] = q_new
        state.globals = g.unsqueeze(1) if g_mem is None else torch.cat([g_mem, g.unsqueeze(1)], 1)
        state.emotion = e
        return e


class DialogueRNNEncoder(nn.Module):
    """DialogueRNN, BiDialogueRNN or BiDialogueRNN+Att over a batch of conversations.

    Args:
        in_dim: utterance feature width ``D_m``.
        d_g, d_p, d_e, d_h: global, party, emotion and output (dense) widths.
        bidirectional: BiDialogueRNN (else DialogueRNN).
        emotion_attention: attention over the emotion states (+Att).
        listener: update the listeners' party states.
        att_type: context attention: ``simple``, ``dot``, ``general``, ``general2``, ``concat``.
        att_dim: hidden width of the ``concat`` attention.
        rec_dropout: dropout inside the recurrence and on the emotion states.
        dropout: dropout after the dense layer.

    ``forward(x: (B, T, D_m), mask: (B, T), speakers: (B, T)) -> (B, T, d_h)``.
    """

    def __init__(
        self,
        in_dim: int,
        d_g: int = 150,
        d_p: int = 150,
        d_e: int = 100,
        d_h: int = 100,
        bidirectional: bool = True,
        emotion_attention: bool = True,
        listener: bool = False,
        att_type: str = "general",
        att_dim: int = 100,
        rec_dropout: float = 0.1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        args = (in_dim, d_g, d_p, d_e, listener, att_type, att_dim, rec_dropout)
        self.forward_rnn = DialogueRNNDirection(*args)
        self.backward_rnn = DialogueRNNDirection(*args) if bidirectional else None
        width = 2 * d_e if bidirectional else d_e
        self.emotion_attention = (
            MatchingAttention(width, width, att_type="general2") if emotion_attention else None
        )
        self.dense = nn.Linear(width, d_h)
        self.rec_drop = nn.Dropout(rec_dropout)
        self.drop = nn.Dropout(dropout)
        self.out_dim = d_h

    @property
    def can_step(self) -> bool:
        """Whether :meth:`step` can carry a dialogue's state (causal: one direction,
        no emotion attention over the whole dialogue, no listeners)."""
        return (
            self.backward_rnn is None
            and self.emotion_attention is None
            and self.forward_rnn.l_cell is None
        )

    def step(self, x: Tensor, speaker: int, state: StepState) -> Tensor:
        """The output of one more utterance of one dialogue, carrying ``state``: equal to
        the last row of :meth:`forward` over the dialogue so far (see :attr:`can_step`).

        Args:
            x: ``(1, D_m)``. Returns: ``(1, d_h)``.
        """
        if not self.can_step:
            raise ValueError(
                "step needs a causal DialogueRNN: bidirectional=False, "
                "emotion_attention=False, listener=False"
            )
        e = self.rec_drop(self.forward_rnn.step(x, speaker, state))
        return self.drop(torch.relu(self.dense(e)))

    def forward(self, x: Tensor, mask: Tensor, speakers: Tensor) -> Tensor:
        keep = mask.to(torch.bool)
        party, count = local_parties(speakers, keep)
        emotions = self.forward_rnn(x, keep, party, count)
        if self.backward_rnn is not None:
            lengths = keep.sum(1)
            back_party = reverse_padded(party.unsqueeze(-1), lengths).squeeze(-1)
            back = self.backward_rnn(reverse_padded(x, lengths), keep, back_party, count)
            emotions = torch.cat([emotions, reverse_padded(back, lengths)], -1)
        emotions = self.rec_drop(emotions)
        if self.emotion_attention is not None:
            emotions, _ = self.emotion_attention(emotions, emotions, keep)
        h = self.drop(torch.relu(self.dense(emotions)))
        return h.masked_fill(~keep.unsqueeze(-1), 0.0)


register_backbone(
    "dialoguernn",
    DialogueRNNEncoder,
    label="DialogueRNN",
    description="DialogueRNN (default: BiDialogueRNN+Att) with any fusion at any embedding point.",
    width_option="d_g",
    dropout_origin="DialogueRNN's training scripts (--dropout 0.1, --rec-dropout 0.1)",
    space={
        "d_g": Int(50, 200, step=50),
        "d_p": Int(50, 200, step=50),
        "d_e": Int(50, 200, step=50),
        "d_h": Int(50, 200, step=50),
        "rec_dropout": Float(0.0, 0.5),
    },
)
