"""Dual-LMF: LMF when utterance-wise, a local time factor otherwise."""

from __future__ import annotations

import pytest
import torch

from lmam import create_fusion
from lmam.fusion.dual_lmf import DualLMFFusion
from lmam.fusion.lmf import LMFFusion
from tests.fusion.test_registry import DIMS, inputs


def test_window_zero_is_lmf_with_time_scaled_factors():
    torch.manual_seed(0)
    dual = DualLMFFusion(DIMS, 6, window=0).eval()
    lmf = LMFFusion(DIMS, 6).eval()
    lmf.proj.load_state_dict(dual.proj.state_dict())
    with torch.no_grad():
        for m in dual.modalities:
            dual.time_factors[m].uniform_(0.5, 2.0)
            taps = dual.time_factors[m][:, 0]  # (r,)
            lmf.fusion.factors[m].copy_(dual.fusion.factors[m] * taps.view(-1, 1, 1))
        lmf.fusion.weights.copy_(dual.fusion.weights)
        lmf.fusion.bias.uniform_(-0.5, 0.5)
        dual.fusion.bias.copy_(lmf.fusion.bias)
        feats, mask = inputs(DIMS)
        expected = lmf(feats, mask)
        torch.testing.assert_close(dual(feats, mask), expected, atol=1e-5, rtol=1e-5)
    assert expected.abs().sum() > 0


@pytest.mark.parametrize("window", [1, 2])
def test_an_utterance_reaches_exactly_its_window(window):
    torch.manual_seed(0)
    dual = create_fusion("dual_lmf", in_dims=DIMS, out_dim=8, window=window).eval()
    feats, mask = inputs(DIMS, length=7, lengths=(7, 7, 7))
    changed = {m: x.clone() for m, x in feats.items()}
    changed["visual"][0, 3] += 2.0
    with torch.no_grad():
        diff = (dual(feats, mask) - dual(changed, mask)).abs().amax(-1)[0]
    reached = (diff > 1e-6).nonzero().flatten().tolist()
    assert reached == list(range(3 - window, 4 + window))


def test_a_padded_neighbour_in_the_window_contributes_nothing():
    torch.manual_seed(0)
    dual = create_fusion("dual_lmf", in_dims=DIMS, out_dim=4, window=2).eval()
    feats, _ = inputs(DIMS, batch=1, length=3, lengths=(3,))
    feats["text"][0, 2] = 1e6  # padding, yet inside the window of utterances 0 and 1
    short = {m: x[:, :2] for m, x in feats.items()}
    with torch.no_grad():
        padded = dual(feats, torch.tensor([[True, True, False]]))
        torch.testing.assert_close(padded[:, :2], dual(short, torch.ones(1, 2, dtype=torch.bool)))


def test_window_must_be_non_negative():
    with pytest.raises(ValueError, match="window"):
        create_fusion("dual_lmf", in_dims=DIMS, out_dim=4, window=-1)
