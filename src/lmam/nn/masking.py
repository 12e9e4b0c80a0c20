"""Masks and the masked softmax shared by every attention in the library."""

from __future__ import annotations

import torch
from torch import Tensor


def masked_softmax(scores: Tensor, mask: Tensor, dim: int = -1) -> Tensor:
    """Softmax over ``dim`` restricted to positions where ``mask`` is true.

    Args:
        scores: any shape ``(..., S)``.
        mask: boolean, broadcastable to ``scores``; true marks a position that
            may receive weight.

    Returns:
        Weights of the shape of ``scores``. Masked positions get exactly zero,
        and a row whose positions are all masked is all zeros (never NaN, and
        its gradient is zero too).
    """
    mask = mask.to(torch.bool)
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(filled, dim=dim)
    return weights * mask.to(weights.dtype)


def context_mask(
    length: int, context: str | int = "full", device: torch.device | None = None
) -> Tensor | None:
    """Which key utterance each query utterance may look at.

    Args:
        length: the padded number of utterances ``T``.
        context: ``"full"`` (every utterance), ``"causal"`` (earlier and
            current utterances only) or an int ``w`` (a window of ``w``
            utterances on either side).

    Returns:
        ``None`` for ``"full"``, else a boolean ``(T, T)`` tensor, query rows
        by key columns.
    """
    if context == "full":
        return None
    pos = torch.arange(length, device=device)
    diff = pos[None, :] - pos[:, None]  # key minus query
    if context == "causal":
        return diff <= 0
    if isinstance(context, int) and not isinstance(context, bool) and context >= 0:
        return diff.abs() <= context
    raise ValueError(
        f"context must be 'full', 'causal' or a non-negative int window, got {context!r}"
    )


def check_context(context: str | int) -> str | int:
    """Validate a ``context`` option early, at construction time."""
    context_mask(1, context)
    return context


def unpack_rows(rows: Tensor, keep: Tensor) -> Tensor:
    """Rows of the real positions back into a right-padded batch, zeros at padding.

    Args:
        rows: ``(N, D)``, one row per ``True`` of ``keep`` in row-major order.
        keep: ``(B, T)`` bool, ``N`` of them ``True``.

    Returns:
        ``(B, T, D)`` in ``rows``' dtype (under autocast it may differ from the inputs').
    """
    out = rows.new_zeros(*keep.shape, rows.shape[-1])
    out[keep] = rows
    return out


def length_groups(
    keep: Tensor, most: int = 3, saving: float = 0.2, shortest: int = 32
) -> list[tuple[Tensor, int]]:
    """The dialogues of a batch in groups of similar length, for work that grows with the
    square of the length (attention over a dialogue's utterances).

    Each dialogue's extent is its last real utterance plus one (holes inside it stay
    masked). Sorted by extent, the batch is cut into at most ``most`` runs so that the
    sum over runs of (dialogues x longest extent squared) is least; the split is kept
    only if it saves at least ``saving`` of the one-group work, and each extra group
    must save a tenth of it more; a batch whose longest extent is under ``shortest`` is
    not split (small products cost their launch more than their work).

    Args:
        keep: ``(B, T)`` boolean.

    Returns:
        ``[(index (B_g,), extent T_g), ...]``: one group ``(all, T)`` when splitting does
        not pay.
    """
    b, t = keep.shape
    positions = torch.arange(1, t + 1, device=keep.device)
    extent = (keep * positions).amax(dim=1).clamp(min=1)
    whole = [(torch.arange(b, device=keep.device), t)]
    if b < 2 or most < 2:
        return whole
    order = torch.argsort(extent)
    ext = extent[order].tolist()
    if ext[-1] < shortest:
        return whole
    full = b * ext[-1] ** 2

    # best[g][i]: the least work for the first i dialogues in g runs; cut[g][i]: last run's start
    inf = float("inf")
    best = [[inf] * (b + 1) for _ in range(most + 1)]
    cut = [[0] * (b + 1) for _ in range(most + 1)]
    best[0][0] = 0.0
    for g in range(1, most + 1):
        for i in range(1, b + 1):
            for j in range(i):
                work = best[g - 1][j] + (i - j) * ext[i - 1] ** 2
                if work < best[g][i]:
                    best[g][i], cut[g][i] = work, j
    chosen = 1
    for g in range(2, most + 1):
        if best[g][b] <= (1 - saving - 0.1 * (g - 2)) * full and best[g][b] < best[chosen][b]:
            chosen = g
    if chosen == 1:
        return whole
    groups, i = [], b
    for g in range(chosen, 0, -1):
        j = cut[g][i]
        groups.append((order[j:i], int(ext[i - 1])))
        i = j
    return groups[::-1]
