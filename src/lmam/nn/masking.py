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
