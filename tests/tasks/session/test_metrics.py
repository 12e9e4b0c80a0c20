"""P@K and MRR@K against a hand computation."""

from __future__ import annotations

import pytest
import torch

from lmam.tasks.session.metrics import RankingMeter


def test_metrics_by_hand() -> None:
    # 25 items; scores descend with the column, so item k has rank k
    scores = torch.arange(25, 0, -1).float().repeat(4, 1)
    targets = torch.tensor([1, 7, 15, 25])  # ranks 1, 7, 15, 25
    meter = RankingMeter()
    meter.update(scores[:2], targets[:2])
    meter.update(scores[2:], targets[2:])
    r = meter.result()
    assert r["P@5"] == pytest.approx(25.0)
    assert r["P@10"] == pytest.approx(50.0)
    assert r["P@20"] == pytest.approx(75.0)
    assert r["MRR@5"] == pytest.approx(100 * 1 / 4)
    assert r["MRR@10"] == pytest.approx(100 * (1 + 1 / 7) / 4)
    assert r["MRR@20"] == pytest.approx(100 * (1 + 1 / 7 + 1 / 15) / 4)
