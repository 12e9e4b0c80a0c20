"""A batch of conversations as one disjoint graph, built with tensor operations.

The nodes are the real utterances of a padded batch in row-major order
(dialogue by dialogue, utterance by utterance); :func:`node_table` maps a
padded position to its node, :func:`window_edges` links every node to the
nodes of its own dialogue within a window, and :func:`checked_parties`
renumbers each dialogue's speakers and refuses more than a model was built for.

The graph backbones import ``torch_geometric`` (an optional dependency, the
``graph`` extra) only when they are built, so that ``import lmam`` stays fast
and works without it.
"""

from __future__ import annotations

import importlib.util

import torch
from torch import Tensor


def local_parties(speakers: Tensor, keep: Tensor) -> tuple[Tensor, Tensor]:
    """Each dialogue's speakers renumbered ``0 .. P_b - 1`` (in increasing id order).

    Args:
        speakers: ``(B, T)`` integer speaker ids (any values; padding ignored).
        keep: ``(B, T)`` boolean, true at real utterances.

    Returns:
        ``party``: ``(B, T)`` long (0 at padding) and ``count``: ``(B,)`` parties per dialogue.
    """
    b, _ = keep.shape
    ids = speakers.long().masked_fill(~keep, 0)
    ids = ids - ids.min()
    span = int(ids.max()) + 1
    key = torch.arange(b, device=ids.device).unsqueeze(1) * span + ids
    uniq, inverse = torch.unique(key[keep], return_inverse=True)
    owner = uniq // span
    count = torch.bincount(owner, minlength=b)
    start = torch.cumsum(count, 0) - count
    party = torch.zeros_like(ids)
    party[keep] = inverse - start[owner[inverse]]
    return party, count


def require_torch_geometric(model: str) -> None:
    """Raise an ``ImportError`` naming ``model`` and the extra when torch_geometric is absent."""
    if importlib.util.find_spec("torch_geometric") is None:
        raise ImportError(f"the {model} backbone needs torch_geometric: pip install 'lmam[graph]'")


def node_table(keep: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The nodes of a padded batch.

    Args:
        keep: ``(B, T)`` boolean, true at real utterances.

    Returns:
        ``table``: ``(B, T)`` long, the node of each position (``-1`` at padding);
        ``dialogue`` and ``position``: ``(N,)`` each node's dialogue and position.
    """
    dialogue, position = keep.nonzero(as_tuple=True)
    table = torch.full(keep.shape, -1, dtype=torch.long, device=keep.device)
    table[dialogue, position] = torch.arange(dialogue.numel(), device=keep.device)
    return table, dialogue, position


def window_edges(keep: Tensor, past: int | None, future: int | None) -> Tensor:
    """Directed edges ``source -> target`` between the utterances of each dialogue
    whose source lies at most ``past`` utterances before or ``future`` after its
    target (the target itself included); ``None``: no limit on that side.

    Args:
        keep: ``(B, T)`` boolean, true at real utterances (right padded).
        past, future: the window.

    Returns:
        ``edge_index``: ``(2, E)`` long node ids (see :func:`node_table`), rows
        ``(source, target)``, ordered by target, then source.
    """
    table, dialogue, position = node_table(keep)
    t = keep.shape[1]
    before = t - 1 if past is None else min(past, t - 1)
    after = t - 1 if future is None else min(future, t - 1)
    offsets = torch.arange(-before, after + 1, device=keep.device)
    cand = position.unsqueeze(1) + offsets.unsqueeze(0)  # (N, W)
    inside = (cand >= 0) & (cand < t)
    rows = dialogue.unsqueeze(1).expand_as(cand)
    source = table[rows, cand.clamp(0, t - 1)].masked_fill(~inside, -1)
    valid = source >= 0
    target = torch.arange(dialogue.numel(), device=keep.device).unsqueeze(1).expand_as(cand)
    return torch.stack([source[valid], target[valid]])


def checked_parties(speakers: Tensor, keep: Tensor, num_speakers: int) -> Tensor:
    """Each dialogue's speakers renumbered ``0 .. P_b - 1`` (see
    :func:`local_parties`), at most ``num_speakers`` of them.

    Args:
        speakers: ``(B, T)`` integer speaker ids.
        keep: ``(B, T)`` boolean, true at real utterances.
        num_speakers: the most parties a dialogue may have.

    Returns:
        ``(B, T)`` long party of every utterance (0 at padding).

    Raises:
        ValueError: a dialogue has more speakers, naming it.
    """
    party, count = local_parties(speakers, keep)
    if count.numel() and int(count.max()) > num_speakers:
        b = int(torch.argmax(count))
        raise ValueError(
            f"dialogue {b} of the batch has {int(count[b])} distinct speakers, more than "
            f"num_speakers={num_speakers} the model was built for; build it with "
            f"num_speakers >= {int(count.max())}"
        )
    return party
