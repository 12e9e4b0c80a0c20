"""Per-modality feature standardisation, fitted on the training split only.

``Standardizer.fit(ds.train)`` takes every training utterance's features of
each modality and keeps their mean and standard deviation per feature
(float64 sums, a standard deviation below ``1e-6`` counts as 1, so constant
features stay finite). ``apply`` maps ``x -> (x - mean) / std`` for any
conversations: the validation and test splits, or new data at prediction
time. The word ids (:data:`~lmam.data.dataset.WORDS`) are not features to
scale: they are left as they are. A run stores the statistics in its checkpoint description, so
``evaluate`` and ``predict`` apply exactly what training used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lmam.data.dataset import WORDS, Conversation, ConversationDataset
from lmam.data.errors import DataError

NORMALIZATIONS = ("standard", "none")
MIN_STD = 1e-6


@dataclass
class Standardizer:
    """Per-modality ``mean`` and ``std``, each ``{modality: (D_m,)}`` float64."""

    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray]

    @classmethod
    def fit(cls, convs: list[Conversation], modalities: list[str]) -> Standardizer:
        """Statistics of every utterance of ``convs`` (the training split)."""
        if not convs:
            raise DataError("cannot fit feature standardisation: the training split is empty")
        mean, std = {}, {}
        for m in modalities:
            if m == WORDS:  # ids, not measurements
                continue
            x = np.concatenate([c.feats[m] for c in convs]).astype(np.float64)
            mean[m] = x.mean(0)
            s = x.std(0)
            std[m] = np.where(s < MIN_STD, 1.0, s)
        return cls(mean, std)

    def apply(self, convs: list[Conversation]) -> list[Conversation]:
        """``convs`` with standardised features (float32), everything else shared."""
        out = []
        for c in convs:
            feats = dict(c.feats)
            for m in self.mean:
                feats[m] = ((c.feats[m] - self.mean[m]) / self.std[m]).astype(np.float32)
            out.append(replace(c, feats=feats))
        return out

    def apply_dataset(self, ds: ConversationDataset) -> ConversationDataset:
        """Every split of ``ds`` standardised."""
        return replace(ds, splits={s: self.apply(convs) for s, convs in ds.splits.items()})

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for the run's JSON description."""
        return {
            "kind": "standard",
            "mean": {m: v.tolist() for m, v in self.mean.items()},
            "std": {m: v.tolist() for m, v in self.std.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        return cls(
            {m: np.asarray(v, dtype=np.float64) for m, v in data["mean"].items()},
            {m: np.asarray(v, dtype=np.float64) for m, v in data["std"].items()},
        )
