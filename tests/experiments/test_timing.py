"""Side-by-side timing: round-robin order, medians, and one training epoch per model."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from lmam.experiments.timing import epoch_seconds, interleaved_medians
from tests.experiments.configs import TINY


def test_interleaved_medians_time_round_robin_and_take_the_median(monkeypatch) -> None:
    order: list[str] = []
    clock = iter([0.0, 1.0, 1.0, 3.0, 3.0, 8.0, 8.0, 9.0, 9.0, 19.0, 19.0, 20.0])

    def job(name: str):
        return lambda: order.append(name)

    samples: dict[str, list[float]] = {"a": [], "b": []}
    monkeypatch.setattr("lmam.experiments.timing.time.perf_counter", lambda: next(clock))
    medians = interleaved_medians(
        {"a": job("a"), "b": job("b")}, {"a": 3, "b": 3}, warmup=1, samples=samples
    )
    assert order == ["a", "b", "a", "b", "a", "b", "a", "b"]  # warm-up, then 3 rounds
    assert samples == {"a": [1.0, 5.0, 10.0], "b": [2.0, 1.0, 1.0]}
    assert medians == {"a": 5.0, "b": 1.0}


def test_epoch_seconds_trains_one_epoch_of_each_and_keeps_nothing(monkeypatch) -> None:
    from lmam.train import engine

    calls: list[tuple[int, int]] = []
    real = engine.Trainer.train_epoch

    def counted(self, epoch, model):
        calls.append((id(self), epoch))
        return real(self, epoch, model)

    monkeypatch.setattr(engine.Trainer, "train_epoch", counted)
    before = set(Path(tempfile.gettempdir()).glob("lmam-timing-*"))
    wide = dataclasses.replace(TINY, model_options={"hidden": 32, "dense": 32})
    seconds = epoch_seconds({"tiny": TINY, "wide": wide}, rounds=2)
    assert set(seconds) == {"tiny", "wide"} and all(s > 0 for s in seconds.values())
    assert len(calls) == 4 and [e for _, e in calls] == [1, 1, 2, 2]  # round-robin epochs
    assert calls[0][0] != calls[1][0] == calls[3][0]
    assert set(Path(tempfile.gettempdir()).glob("lmam-timing-*")) == before
