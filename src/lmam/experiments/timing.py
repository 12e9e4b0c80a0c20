"""Timing side by side: every job measured round-robin in one process, so that the
machine's noise (other processes, frequency changes) hits all of them alike and
their ratios stay fair on a busy machine."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from lmam.train.config import TrainConfig


def interleaved_medians(
    jobs: Mapping[str, Callable[[], object]],
    repeats: dict[str, int],
    warmup: int = 1,
    samples: dict[str, list[float]] | None = None,
) -> dict[str, float]:
    """Median seconds of each job, timing them round-robin so that machine noise
    hits all of them alike (side by side in one process).

    Args:
        jobs: name -> a callable doing one measured unit of work.
        repeats: name -> how many timed calls (jobs with fewer stop earlier).
        warmup: untimed calls of each job first.
        samples: if given, every timing is also appended to ``samples[name]``.
    """
    for job in jobs.values():
        for _ in range(warmup):
            job()
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(max(repeats.values())):
        for name, job in jobs.items():
            if round_ < repeats[name]:
                start = time.perf_counter()
                job()
                times[name].append(time.perf_counter() - start)
    if samples is not None:
        for name, t in times.items():
            samples[name].extend(t)
    return {name: statistics.median(t) for name, t in times.items()}


def epoch_seconds(configs: dict[str, TrainConfig], rounds: int = 3) -> dict[str, float]:
    """Median seconds of one training epoch of each configuration, timed side by side.

    Each configuration gets its own :class:`~lmam.train.engine.Trainer` (model,
    optimiser, data) in a temporary folder; then ``rounds`` rounds train one epoch
    of each in turn, on this process's threads (the configurations' ``threads``).
    The first round also pays for warming up, which the median of three or more
    rounds leaves out. Nothing is kept.
    """
    from lmam.train.engine import Trainer

    with tempfile.TemporaryDirectory(prefix="lmam-timing-") as tmp:
        trainers = {
            name: Trainer(config, run_dir=Path(tmp) / name, quiet=True)
            for name, config in configs.items()
        }
        epochs = dict.fromkeys(trainers, 0)

        def one_epoch(name: str) -> Callable[[], object]:
            def job() -> object:
                epochs[name] += 1
                trainer = trainers[name]
                trainer.model.train()
                return trainer.train_epoch(epochs[name], trainer.model)

            return job

        return interleaved_medians(
            {name: one_epoch(name) for name in trainers},
            dict.fromkeys(trainers, rounds),
            warmup=0,
        )
