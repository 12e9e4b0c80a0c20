"""Random and length-bucketed batches: every dialogue once, deterministic, less padding."""

from __future__ import annotations

import numpy as np
import pytest

from lmam.data.batching import BATCHINGS, epoch_batches, length_chunks, padded_fraction
from lmam.errors import OptionError

LENGTHS = [8, 110, 23, 54, 9, 61, 30, 75, 12, 44, 96, 17, 38, 66, 27, 50, 14, 88, 33, 41]


@pytest.mark.parametrize("batching", BATCHINGS)
@pytest.mark.parametrize("batch_size", [1, 3, 7, 20, 32])
def test_every_dialogue_is_in_exactly_one_batch(batching: str, batch_size: int) -> None:
    batches = epoch_batches(LENGTHS, batch_size, seed=3, epoch=2, batching=batching)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(LENGTHS)))
    assert all(0 < len(b) <= batch_size for b in batches)
    assert len(batches) == -(-len(LENGTHS) // batch_size)


def test_random_batches_are_the_epochs_seeded_permutation_cut_in_order() -> None:
    order = np.random.default_rng([5, 4]).permutation(len(LENGTHS)).tolist()
    assert epoch_batches(LENGTHS, 6, 5, 4) == [order[s : s + 6] for s in range(0, 20, 6)]


def test_bucketed_batches_are_deterministic_and_vary_with_the_epoch() -> None:
    one = epoch_batches(LENGTHS, 4, seed=1, epoch=1, batching="bucketed")
    assert one == epoch_batches(LENGTHS, 4, seed=1, epoch=1, batching="bucketed")
    assert one != epoch_batches(LENGTHS, 4, seed=1, epoch=2, batching="bucketed")
    assert one != epoch_batches(LENGTHS, 4, seed=2, epoch=1, batching="bucketed")
    # each batch holds neighbours in length order
    ranked = sorted(range(len(LENGTHS)), key=lambda i: LENGTHS[i])
    assert sorted(map(sorted, one)) == sorted(sorted(ranked[s : s + 4]) for s in range(0, 20, 4))


def test_ties_are_broken_by_the_seed() -> None:
    lengths = [5] * 12
    a = epoch_batches(lengths, 4, 0, 1, "bucketed")
    b = epoch_batches(lengths, 4, 0, 2, "bucketed")
    assert sorted(map(sorted, a)) != sorted(map(sorted, b))


def test_padded_fraction_counts_the_padded_positions() -> None:
    assert padded_fraction([3, 1, 2], [[0, 1], [2]]) == 1 - 6 / 8
    assert padded_fraction([4, 4], [[0, 1]]) == 0.0
    random = np.mean(
        [padded_fraction(LENGTHS, epoch_batches(LENGTHS, 4, 0, e)) for e in range(1, 21)]
    )
    bucketed = np.mean(
        [
            padded_fraction(LENGTHS, epoch_batches(LENGTHS, 4, 0, e, "bucketed"))
            for e in range(1, 21)
        ]
    )
    assert bucketed < random / 2  # 0.15 against 0.44


def test_length_chunks_cover_every_index_longest_first() -> None:
    chunks = length_chunks(LENGTHS, 6)
    assert sorted(i for c in chunks for i in c) == list(range(len(LENGTHS)))
    firsts = [LENGTHS[c[0]] for c in chunks]
    assert firsts == sorted(firsts, reverse=True) and firsts[0] == 110


def test_an_unknown_batching_names_the_choices() -> None:
    with pytest.raises(OptionError, match="random, bucketed, got 'sorted'"):
        epoch_batches(LENGTHS, 4, 0, 1, "sorted")
