"""The matching attention of the classic ERC models (bc-LSTM+Att, DialogueRNN), batch-first."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lmam.nn.masking import masked_softmax

ATT_TYPES = ("simple", "dot", "general", "general2", "concat")


class MatchingAttention(nn.Module):
    """Attention of query utterances over a memory of utterances.

    Scores, for a query ``x`` and a memory row ``m``:

    - ``simple``: ``w . m`` (the memory row alone, as DialogueRNN's ``simple``);
    - ``dot``: ``x . m`` (needs ``cand_dim == mem_dim``);
    - ``general``: ``(x W) . m`` with ``W`` bias-free;
    - ``general2``: ``tanh((x W + b) . m)``;
    - ``concat``: ``w^T tanh(A [m; x])``.

    The weights are a softmax over the memory's real rows only, and the output
    is the weighted sum of memory rows. Unlike the sequence-first originals
    (one query per call), every query position is scored in one batched call.

    Args:
        mem_dim: width of the memory rows.
        cand_dim: width of the queries.
        alpha_dim: hidden width of the ``concat`` scorer.
        att_type: one of ``simple``, ``dot``, ``general``, ``general2``, ``concat``.
    """

    def __init__(
        self, mem_dim: int, cand_dim: int, alpha_dim: int | None = None, att_type: str = "general"
    ) -> None:
        super().__init__()
        if att_type not in ATT_TYPES:
            raise ValueError(f"att_type must be one of {ATT_TYPES}, got {att_type!r}")
        if att_type == "dot" and mem_dim != cand_dim:
            raise ValueError(
                f"att_type='dot' needs mem_dim == cand_dim, got {mem_dim} and {cand_dim}"
            )
        self.mem_dim = mem_dim
        self.cand_dim = cand_dim
        self.att_type = att_type
        if att_type == "simple":
            self.scalar = nn.Linear(mem_dim, 1, bias=False)
        elif att_type == "general":
            self.transform = nn.Linear(cand_dim, mem_dim, bias=False)
        elif att_type == "general2":
            self.transform = nn.Linear(cand_dim, mem_dim, bias=True)
        elif att_type == "concat":
            hidden = alpha_dim if alpha_dim is not None else mem_dim
            self.transform = nn.Linear(cand_dim + mem_dim, hidden, bias=False)
            self.vector_prod = nn.Linear(hidden, 1, bias=False)

    def scores(self, memory: Tensor, query: Tensor) -> Tensor:
        """Unnormalised scores.

        Args:
            memory: ``(B, S, mem_dim)``.
            query: ``(B, T, cand_dim)``.

        Returns:
            ``(B, T, S)``.
        """
        if self.att_type == "simple":
            return self.scalar(memory).transpose(1, 2).expand(-1, query.shape[1], -1)
        if self.att_type == "dot":
            return query @ memory.transpose(1, 2)
        if self.att_type == "general":
            return self.transform(query) @ memory.transpose(1, 2)
        if self.att_type == "general2":
            return torch.tanh(self.transform(query) @ memory.transpose(1, 2))
        t, s = query.shape[1], memory.shape[1]
        pair = torch.cat(
            [
                memory.unsqueeze(1).expand(-1, t, s, -1),
                query.unsqueeze(2).expand(-1, t, s, -1),
            ],
            dim=-1,
        )
        return self.vector_prod(torch.tanh(self.transform(pair))).squeeze(-1)

    def forward(
        self, memory: Tensor, query: Tensor, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Pool the memory for every query.

        Args:
            memory: ``(B, S, mem_dim)``.
            query: ``(B, T, cand_dim)``, or ``(B, cand_dim)`` for one query each.
            mask: ``(B, S)``, true (nonzero) at real memory rows; ``None``: all real.

        Returns:
            ``pooled``: ``(B, T, mem_dim)`` (``(B, mem_dim)`` for a 2-d query) and
            ``alpha``: ``(B, T, S)`` (``(B, 1, S)``); padded rows get zero weight.
        """
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)
        if memory.dim() != 3 or query.dim() != 3 or memory.shape[0] != query.shape[0]:
            raise ValueError(
                f"expected memory (B, S, D) and query (B, T, D) with the same B, got "
                f"{tuple(memory.shape)} and {tuple(query.shape)}"
            )
        if mask is None:
            mask = torch.ones(memory.shape[:2], dtype=torch.bool, device=memory.device)
        alpha = masked_softmax(self.scores(memory, query), mask.to(torch.bool).unsqueeze(1))
        pooled = alpha @ memory
        return (pooled.squeeze(1), alpha) if single else (pooled, alpha)
