"""Att-LMF: LMF after self-attention over the modalities (or over the dialogue)."""

from __future__ import annotations

import pytest
import torch

from lmam import create_fusion
from lmam.fusion.att_lmf import AttLMFFusion
from lmam.fusion.lmf import LMFFusion
from tests.fusion.test_registry import DIMS, inputs


@pytest.mark.parametrize("attend", ["modalities", "context"])
def test_without_the_attention_update_it_is_lmf(attend):
    torch.manual_seed(0)
    att = AttLMFFusion(DIMS, 6, attend=attend).eval()
    lmf = LMFFusion(DIMS, 6).eval()
    lmf.proj.load_state_dict(att.proj.state_dict())
    lmf.fusion.load_state_dict(att.fusion.state_dict())
    feats, mask = inputs(DIMS)
    with torch.no_grad():
        assert not torch.allclose(att(feats, mask), lmf(feats, mask))
        for attn in att.attn.values():
            attn.out.weight.zero_()
            attn.out.bias.zero_()
        torch.testing.assert_close(att(feats, mask), lmf(feats, mask))


def test_attention_over_modalities_stays_utterance_wise():
    torch.manual_seed(0)
    att = create_fusion("att_lmf", in_dims=DIMS, out_dim=5).eval()
    feats, mask = inputs(DIMS)
    changed = {m: x.clone() for m, x in feats.items()}
    changed["text"][0, 1] += 3.0
    with torch.no_grad():
        differs = (att(feats, mask) - att(changed, mask)).abs().amax(-1) > 0
    assert differs[0, 1] and differs.sum() == 1


def test_attention_over_context_mixes_utterances_but_not_padding():
    torch.manual_seed(0)
    att = create_fusion("att_lmf", in_dims=DIMS, out_dim=5, attend="context").eval()
    feats, mask = inputs(DIMS)
    changed = {m: x.clone() for m, x in feats.items()}
    changed["text"][0, 1] += 3.0
    changed["audio"][1, 3:] = 1e6  # dialogue 1 has 3 utterances: padding
    with torch.no_grad():
        before, after = att(feats, mask), att(changed, mask)
    differs = (before - after).abs().amax(-1) > 1e-6
    assert differs[0].all() and not differs[1:].any()


def test_attend_option_is_checked():
    with pytest.raises(ValueError, match="attend"):
        create_fusion("att_lmf", in_dims=DIMS, out_dim=4, attend="time")
