"""Feature standardisation: fitted on the training split only, applied everywhere the same."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from lmam.data import create_dataset, save_dataset
from lmam.data.errors import DataError
from lmam.data.normalize import Standardizer
from lmam.train import TrainConfig, train
from lmam.train.checkpoint import load_description
from lmam.train.inference import predict_run


def test_statistics_come_from_the_training_split_only():
    ds = create_dataset("synthetic", train=6, valid=3, test=3)
    for c in ds.test:  # test features far away: they must not move the statistics
        c.feats["text"] = c.feats["text"] + 1000.0
    std = Standardizer.fit(ds.train, list(ds.modalities))
    train_text = np.concatenate([c.feats["text"] for c in ds.train]).astype(np.float64)
    np.testing.assert_allclose(std.mean["text"], train_text.mean(0))
    np.testing.assert_allclose(std.std["text"], train_text.std(0))
    out = std.apply_dataset(ds)
    z = np.concatenate([c.feats["text"] for c in out.train])
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1.0, atol=1e-4)
    assert np.concatenate([c.feats["text"] for c in out.test]).mean() > 100  # shifted, not refit
    assert out.train[0].feats["text"].dtype == np.float32
    assert ds.train[0].feats["text"] is not out.train[0].feats["text"]  # the input is untouched


def test_constant_features_stay_finite_and_round_trip():
    ds = create_dataset("synthetic", train=4, valid=2, test=2)
    for c in ds.train:
        c.feats["audio"][:, 0] = 3.0
    std = Standardizer.fit(ds.train, ["audio"])
    assert std.std["audio"][0] == 1.0
    out = std.apply(ds.train)
    assert np.isfinite(out[0].feats["audio"]).all() and out[0].feats["audio"][0, 0] == 0.0
    again = Standardizer.from_dict(std.to_dict())
    np.testing.assert_array_equal(again.apply(ds.train)[0].feats["audio"], out[0].feats["audio"])
    with pytest.raises(DataError, match="training split is empty"):
        Standardizer.fit([], ["audio"])


def test_a_run_stores_its_statistics_and_predict_applies_them(tmp_path, monkeypatch):
    """predict on the run's own test split gives the probabilities training recorded."""
    cfg = TrainConfig(
        dataset="synthetic",
        dataset_options={"train": 8, "valid": 4, "test": 4},
        epochs=2,
        model_options={"hidden": 4, "dense": 4},
        out_dir=str(tmp_path),
        name="n",
        threads=1,
    )
    summary = train(cfg, quiet=True)
    run = Path(summary["run_dir"])
    desc = load_description(run / "best")
    ds = create_dataset("synthetic", train=8, valid=4, test=4)
    train_text = np.concatenate([c.feats["text"] for c in ds.train]).astype(np.float64)
    np.testing.assert_allclose(desc["normalization"]["mean"]["text"], train_text.mean(0))
    only_test = type(ds)(ds.name, {"test": ds.test}, ds.label_names, ds.modalities)
    save_dataset(only_test, tmp_path / "test.npz")
    predict_run(run, str(tmp_path / "test.npz"), tmp_path / "p.csv")
    recorded = list(csv.DictReader((run / "predictions.csv").open()))
    predicted = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert [r["p_class0"] for r in predicted] == [r["p_class0"] for r in recorded]
    # predicting without the statistics gives other probabilities: the check can fail
    monkeypatch.setattr("lmam.train.inference.standardize", lambda data, _desc: data)
    predict_run(run, str(tmp_path / "test.npz"), tmp_path / "raw.csv")
    raw = list(csv.DictReader((tmp_path / "raw.csv").open()))
    assert [r["p_class0"] for r in raw] != [r["p_class0"] for r in recorded]
