"""Run folders written before the attention modules were merged still load and evaluate.

``old_runs/`` holds two tiny runs (M2FNet and EmoCaps on the synthetic dataset)
trained by the version before :class:`~lmam.nn.attention.MaskedMultiheadAttention`
replaced their attention, whose parameters were then named ``attn.wq``, ...
"""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.torch import load_file

from lmam.train.checkpoint import upgrade_keys
from lmam.train.config import TrainConfig
from lmam.train.inference import evaluate_run, load_model

OLD = Path(__file__).parent / "old_runs"


@pytest.mark.parametrize("backbone", ["m2fnet", "emocaps"])
def test_an_old_run_loads_and_evaluates_to_its_record(backbone):
    run = OLD / backbone
    old_names = load_file(str(run / "best" / "model.safetensors"))
    assert any(".attn.wq." in k for k in old_names)  # written with the old names
    model, _ = load_model(run)
    assert TrainConfig.load(run / "config.yaml").batching == "random"  # written before the key
    assert not any(".wq." in k for k in model.state_dict() if ".attn." in k)
    result = evaluate_run(run)
    assert result["identical"], (result["recorded"], result["recomputed"])


def test_only_missing_names_are_upgraded():
    import torch

    state = {"a.attn.wq.weight": torch.zeros(1), "slot.wq.text.weight": torch.ones(1)}
    expected = {"a.attn.query.weight", "slot.wq.text.weight"}
    assert set(upgrade_keys(state, expected)) == expected
