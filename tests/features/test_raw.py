"""``lmam features text|audio`` on a conversation file, and adding modalities to one dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lmam.cli import app
from lmam.data import load_dataset
from lmam.data.conversation_files import read_conversations
from lmam.features import text as text_module
from tests.features.conversation_fixtures import write_conversations
from tests.features.test_text import WIDTH, FakeEncoder, no_encoding, vector

runner = CliRunner()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEncoder:
    encoder = FakeEncoder()
    monkeypatch.setattr(text_module, "default_encoder_name", lambda: "fake-encoder")
    monkeypatch.setattr(text_module, "load_encoder", lambda **_: encoder.encoder())
    return encoder


def test_text_features_of_a_conversation_file(
    tmp_path: Path, fake: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_conversations(tmp_path / "c", dialogues=3, turns=3, audio=False)
    out, cache = tmp_path / "feats.npz", tmp_path / "cache"
    args = ["features", "text", str(path), "--out", str(out), "--cache-dir", str(cache)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "9 utterances embedded" in r.output
    ds = load_dataset(out)
    assert ds.modalities == {"text": WIDTH, "words": 64}  # the words: Kim's CNN
    assert ds.provenance["pipeline.text.encoder"] == "fake-encoder"
    conv = read_conversations(path)
    for d, c in zip(conv.dialogues, [*ds.train, *ds.valid, *ds.test]):
        assert c.id == d.id
        expected = np.array([vector(u.text) for u in d.utterances], dtype=np.float32)
        np.testing.assert_array_equal(c.feats["text"], expected)
    # built once: the second run reads the cache
    encoder = text_module.TextEncoder("fake-encoder", WIDTH, no_encoding)
    monkeypatch.setattr(text_module, "load_encoder", lambda **_: encoder)
    out.unlink()
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert np.array_equal(load_dataset(out).train[0].feats["text"], ds.train[0].feats["text"])


def test_text_needs_out_for_a_conversation_file(tmp_path: Path, fake: FakeEncoder) -> None:
    path = write_conversations(tmp_path, dialogues=1, turns=2, audio=False)
    r = runner.invoke(app, ["features", "text", str(path)])
    assert r.exit_code == 2 and "--out" in r.output


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("opensmile") is None, reason="opensmile absent"
)
def test_add_puts_text_and_audio_in_one_dataset(tmp_path: Path, fake: FakeEncoder) -> None:
    path = write_conversations(tmp_path / "c", dialogues=3, turns=2)
    out = tmp_path / "feats.npz"
    audio = ["features", "audio", str(path), "--out", str(out), "--quiet"]
    audio += ["--cache-dir", str(tmp_path / "a")]
    text = ["features", "text", str(path), "--out", str(out), "--cache-dir", str(tmp_path / "t")]
    assert runner.invoke(app, audio).exit_code == 0
    r = runner.invoke(app, [*text, "--add"])
    assert r.exit_code == 0, r.output
    ds = load_dataset(out)
    assert ds.modalities == {"audio": 88, "text": WIDTH, "words": 64}
    assert ds.provenance["pipeline.audio.set"] == "eGeMAPSv02"
    assert ds.provenance["pipeline.text.encoder"] == "fake-encoder"
    # without --add the file is replaced
    assert runner.invoke(app, text).exit_code == 0
    assert load_dataset(out).modalities == {"text": WIDTH, "words": 64}
    # adding features of other conversations is refused, the file left as it was
    other = write_conversations(tmp_path / "o", dialogues=2, turns=2, seed=1)
    before = out.read_bytes()
    r = runner.invoke(app, ["features", "audio", str(other), "--out", str(out), "--add", "--quiet"])
    assert r.exit_code == 1 and "holds other conversations" in r.output
    assert out.read_bytes() == before
