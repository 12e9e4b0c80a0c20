"""Which dialogues go together in a batch: seeded random batches, or length buckets.

A batch is padded to its longest dialogue, so a batch that mixes an 8-utterance
dialogue with a 110-utterance one spends most of its work on padding (every model
and fusion is padding-exact, so padding changes the cost, never the result).
``bucketed`` batching sorts the dialogues by length (ties in the epoch's random
order), cuts the sorted list into batches and shuffles the order of the batches,
all from ``(seed, epoch)``: deterministic, and every rank of a DDP run draws the
same batches (the trainer then gives each rank every ``world``-th dialogue of a batch).

Numpy only: nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lmam.errors import OptionError

BATCHINGS = ("random", "bucketed")
"""``random``: the epoch's seeded permutation cut into batches. ``bucketed``: dialogues of
similar length together, the batch order shuffled by the seed."""


def epoch_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, batching: str = "random"
) -> list[list[int]]:
    """The indices of each batch of one epoch, in the order they are trained.

    Args:
        lengths: each dialogue's number of utterances.
        batch_size: dialogues per batch (the last batch may be smaller).
        seed, epoch: what the order is drawn from.
        batching: one of :data:`BATCHINGS`.

    Every index appears in exactly one batch.
    """
    if batching not in BATCHINGS:
        raise OptionError(f"batching must be one of {', '.join(BATCHINGS)}, got {batching!r}")
    if batch_size <= 0:
        raise OptionError(f"batch_size must be a positive integer, got {batch_size}")
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if batching == "bucketed":
        by_length = np.asarray(lengths, dtype=np.int64)[order]
        order = order[np.argsort(by_length, kind="stable")]
    batches = [order[s : s + batch_size].tolist() for s in range(0, len(order), batch_size)]
    if batching == "bucketed":
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def padded_fraction(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """The share of padded positions when each batch is padded to its longest dialogue."""
    real = padded = 0
    for batch in batches:
        sizes = [int(lengths[i]) for i in batch]
        real += sum(sizes)
        padded += len(sizes) * max(sizes, default=0)
    return 1.0 - real / padded if padded else 0.0


def length_chunks(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indices in chunks of at most ``size``, longest dialogues first (for prediction:
    the order of the chunks does not change any result)."""
    order = sorted(range(len(lengths)), key=lambda i: -int(lengths[i]))
    return [order[s : s + size] for s in range(0, len(order), size)]
