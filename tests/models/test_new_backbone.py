"""An eighth backbone is one registration: it appears in ``lmam models``, ``create_model``,
the contract tests and a ``--quick`` reproduction table without touching anything else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn
from typer.testing import CliRunner

from lmam.cli import app
from lmam.errors import OptionError
from lmam.models import create_model, get_backbone, list_models, register_backbone
from lmam.models.registry import MODELS
from tests.data.erc_fixtures import classic_iemocap, write
from tests.models import test_models as contract


class ToyEncoder(nn.Module):
    """A context-free toy backbone: one linear map per utterance.

    Args:
        in_dim: the input width.
        width: the output width.
        dropout: dropout on the output.
    """

    def __init__(self, in_dim: int, width: int = 8, dropout: float = 0.0) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, width)
        self.drop = nn.Dropout(dropout)
        self.out_dim = width

    def forward(self, x: Tensor, mask: Tensor, speakers: Tensor) -> Tensor:
        h = self.drop(torch.relu(self.linear(x)))
        return h.masked_fill(~mask.unsqueeze(-1), 0.0)


@pytest.fixture
def toy() -> Iterator[str]:
    register_backbone(
        "toy",
        ToyEncoder,
        label="Toy",
        description="A context-free toy backbone.",
        width_option="width",
    )
    try:
        yield "toy"
    finally:
        MODELS.unregister("toy")


def test_it_is_listed_and_built_with_checked_options(toy):
    assert toy in list_models() and get_backbone(toy).label == "Toy"
    r = CliRunner().invoke(app, ["models", "--json"])
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows[toy]["description"] == "A context-free toy backbone."
    assert rows[toy]["parameters_lmam_early_residual"] > rows[toy]["parameters_concat_early"]
    model = create_model(toy, in_dims={"text": 5, "audio": 3}, num_classes=4, width=6)
    assert model.encoders["all"].out_dim == 6
    with pytest.raises(
        OptionError, match=r"model 'toy' has no option 'widht' \(did you mean 'width'"
    ):
        create_model(toy, in_dims={"text": 5}, num_classes=4, widht=6)


def test_it_passes_the_contract_tests(toy):
    for fusion in contract.FUSIONS:
        for embed in ("early", "early_residual", "late", "parallel", "late_text"):
            contract.test_every_model_trains_at_every_embedding_point(toy, embed, fusion)
            contract.test_padding_invariance(toy, embed, fusion)
    contract.test_no_fusion_runs_the_backbone_on_the_raw_modalities(toy)


def test_it_is_in_a_quick_reproduction_table(toy, tmp_path: Path):
    data = write(tmp_path / "IEMOCAP_features.pkl", classic_iemocap())
    r = CliRunner().invoke(
        app,
        ["reproduce", "table2", "--quick", "--dataset", str(data), "--jobs", "1",
         "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "results")],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    md = (tmp_path / "results-quick" / "table2" / "IEMOCAP_features" / "table2.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| Toy")]
    assert len(rows) == 2, md  # Toy and Toy* (with LMAM)
    assert (tmp_path / "runs-quick").is_dir()
