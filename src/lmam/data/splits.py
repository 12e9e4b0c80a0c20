"""Deterministic, dialogue-level validation splits for data published without one."""

from __future__ import annotations

import numpy as np

from lmam.data.dataset import Conversation


def carve_valid(
    train: list[Conversation], fraction: float = 0.1, seed: int = 0
) -> tuple[list[Conversation], list[Conversation]]:
    """Split whole dialogues off ``train``: the same ``seed`` always gives the same split.

    Returns:
        ``(train, valid)``, each keeping the original order.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    ids = sorted(c.id for c in train)
    n_valid = max(1, round(fraction * len(ids)))
    chosen = set(np.random.default_rng(seed).permutation(len(ids))[:n_valid].tolist())
    valid_ids = {ids[i] for i in chosen}
    return [c for c in train if c.id not in valid_ids], [c for c in train if c.id in valid_ids]
