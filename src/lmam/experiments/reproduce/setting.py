"""Where and how a table's runs are trained: one dataset, its seeds, its folders."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from rich.console import Console

from lmam.data.dataset import WORDS, ConversationDataset
from lmam.data.registry import list_datasets
from lmam.errors import OptionError
from lmam.experiments.grid import run_grid
from lmam.train.build import load_dataset, portable
from lmam.train.config import TrainConfig

DATASET_OPTIONS: dict[str, dict[str, Any]] = {"mosi": {"target": "sentiment"}}
"""Loader options per dataset: CMU-MOSI is trained as regression on its continuous
sentiment labels, as in the paper's Table IV."""

TABLE_DROPOUT = 0.2
"""The dropout of every run of the paper's tables, whatever the backbone (fixed in
advance, before the backbones took their references' defaults; the tables' runs
and records keep it)."""

QUICK_EPOCHS = 1
"""Epochs of a ``--quick`` run (a smoke test of the whole pipeline, not a result)."""

TIMING_ROUNDS = 3
"""Rounds of side-by-side epoch timing (Tables VI and XII); the median is kept."""


@dataclass
class Setting:
    """One dataset of one table.

    Args:
        dataset: a registered dataset name or a path.
        data_path: the files of a registered dataset that needs them.
        seeds: the seeds of every variant.
        runs_dir: the folder all tables train this dataset's runs into.
        out_dir: the folder this table's results for this dataset go to.
        jobs: runs trained at once, each in its own single-thread process.
        quick: one epoch per run (a smoke test).
        fresh: retrain finished runs.
        retrain: retrain the finished runs of these backbones (the others are reused).
        records: where the records of its finished runs are kept and restored
            from (:mod:`lmam.experiments.records`); ``None``: not kept.
    """

    dataset: str
    data_path: str | None
    seeds: list[int]
    runs_dir: Path
    out_dir: Path
    jobs: int = 1
    quick: bool = False
    fresh: bool = False
    retrain: tuple[str, ...] = ()
    records: Path | None = None
    console: Console = field(default_factory=Console)

    @property
    def tag(self) -> str:
        """The dataset's name in folder names."""
        return dataset_tag(self.dataset)

    @cached_property
    def config(self) -> TrainConfig:
        """The base configuration of every run (the dataset's own recipe)."""
        name = self.dataset if self.dataset in list_datasets() else ""
        return TrainConfig(
            dataset=self.dataset,
            data_path=self.data_path,
            dataset_options=dict(DATASET_OPTIONS.get(name, {})),
            epochs=QUICK_EPOCHS if self.quick else None,
            dropout=TABLE_DROPOUT,
            batching="random",  # the tables' protocol (the paper's, and every recorded run's)
            threads=1,
        )

    @cached_property
    def data(self) -> ConversationDataset:
        """The dataset, as the runs see it (loaded once)."""
        return load_dataset(portable(self.config))

    @cached_property
    def has_words(self) -> bool:
        """Whether the dataset holds each utterance's words (:data:`~lmam.data.dataset.WORDS`),
        which the tables' TextCNN then reads as Kim's CNN does."""
        try:
            load_dataset(dataclasses.replace(portable(self.config), modalities=[WORDS]))
        except OptionError:
            return False
        return True

    def run(
        self,
        variants: dict[str, dict[str, Any]],
        seeds: list[int] | None = None,
        fresh: bool | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """Train (or reuse) every variant for every seed; ``{variant: [summary per seed]}``.
        ``fresh``: retrain finished runs (default: the setting's)."""
        return run_grid(
            self.config,
            variants,
            self.seeds if seeds is None else seeds,
            self.runs_dir,
            console=self.console,
            fresh=self.fresh if fresh is None else fresh,
            jobs=self.jobs,
            records=self.records,
            retrain=self.retrain,
        )

    @property
    def timing_rounds(self) -> int:
        """Rounds of side-by-side epoch timing: :data:`TIMING_ROUNDS`, 1 with ``quick``."""
        return 1 if self.quick else TIMING_ROUNDS

    def epoch_seconds(self, variants: dict[str, dict[str, Any]]) -> dict[str, float]:
        """Seconds of one training epoch of each variant (the first seed), timed side
        by side in this process with one thread (:func:`lmam.experiments.timing.epoch_seconds`):
        the median of :attr:`timing_rounds` rounds."""
        from lmam.experiments.timing import epoch_seconds

        configs = {n: self.with_config(**v, seed=self.seeds[0]) for n, v in variants.items()}
        return epoch_seconds(configs, rounds=self.timing_rounds)

    def with_config(self, **changes: Any) -> TrainConfig:
        """The base configuration with ``changes``."""
        return dataclasses.replace(self.config, **changes)


def dataset_tag(dataset: str) -> str:
    """``dataset`` as a folder name: the registered name, or the file or folder's stem."""
    if dataset in list_datasets():
        return dataset
    return Path(dataset).stem or "dataset"
