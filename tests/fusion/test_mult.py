"""MulT and its shared blocks: masked attention, cross-modal transformers, branches."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lmam import create_fusion
from lmam.nn.attention import MaskedMultiheadAttention, attention_mask, sinusoidal_positions
from lmam.nn.crossmodal import CrossModalTransformer
from tests.fusion.test_registry import DIMS, inputs


def lengths_mask(lengths, length):
    return torch.arange(length) < torch.tensor(lengths).unsqueeze(1)


def test_masked_attention_equals_reference_sdpa():
    torch.manual_seed(0)
    attn = MaskedMultiheadAttention(8, heads=2).eval()
    query, source = torch.randn(3, 4, 8), torch.randn(3, 6, 8)
    allowed = attention_mask(lengths_mask([6, 2, 4], 6))  # (B, 1, S)
    q, k, v = (
        layer(x).view(3, -1, 2, 4).transpose(1, 2)
        for layer, x in ((attn.query, query), (attn.key, source), (attn.value, source))
    )
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed.unsqueeze(1))
    expected = attn.out(ref.transpose(1, 2).reshape(3, 4, 8))
    torch.testing.assert_close(attn(query, source, allowed), expected)


def test_masked_attention_with_no_allowed_key_is_zero_not_nan():
    attn = MaskedMultiheadAttention(4, heads=1)
    x = torch.randn(2, 3, 4, requires_grad=True)
    allowed = attention_mask(lengths_mask([3, 0], 3))
    out = attn(x, x, allowed)
    torch.testing.assert_close(out[1], attn.out.bias.expand(3, 4))  # only the output bias
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_cross_modal_transformer_ignores_padded_keys():
    torch.manual_seed(0)
    block = CrossModalTransformer(8, heads=2, layers=2, cross=True).eval()
    keep = lengths_mask([5, 3, 1], 5)
    target, source = torch.randn(3, 5, 8), torch.randn(3, 5, 8)
    garbage = source.clone()
    garbage[~keep] = 1e4 * torch.randn(int((~keep).sum()), 8)
    allowed = attention_mask(keep)
    with torch.no_grad():
        out = block(target, source, allowed)
        torch.testing.assert_close(block(target, garbage, allowed), out)
        # ...while a real key does matter
        moved = source.clone()
        moved[2, 0] += torch.randn(8)  # (a constant shift would vanish in the LayerNorm)
        assert not torch.allclose(block(target, moved, allowed)[2], out[2])


def test_blocks_refuse_a_missing_or_extra_source():
    cross = CrossModalTransformer(4, heads=1, layers=1, cross=True)
    plain = CrossModalTransformer(4, heads=1, layers=1, cross=False)
    x = torch.randn(1, 2, 4)
    with pytest.raises(ValueError, match="source"):
        cross(x, None)
    with pytest.raises(ValueError, match="source"):
        plain(x, x)


def test_mult_has_a_cross_modal_transformer_per_ordered_pair():
    fusion = create_fusion("mult", in_dims=DIMS, out_dim=4)
    assert sum(len(stack.cross) for stack in fusion.branches.stacks.values()) == 3 * 2
    single = create_fusion("mult", in_dims={"text": 10}, out_dim=4)
    assert len(single.branches.stacks["text"].cross) == 0  # self-attention only


def test_mult_every_target_hears_every_other_modality():
    torch.manual_seed(0)
    fusion = create_fusion("mult", in_dims=DIMS, out_dim=4).eval()
    feats, mask = inputs(DIMS)
    changed = dict(feats, visual=feats["visual"] + 1.0)
    with torch.no_grad():
        a = fusion.encode([feats[m] for m in DIMS], mask)
        b = fusion.encode([changed[m] for m in DIMS], mask)
    width = fusion.branches.stacks["text"].width
    text_branch = slice(0, width)
    assert not torch.allclose(a[..., text_branch], b[..., text_branch])


def test_causal_mult_does_not_look_ahead():
    torch.manual_seed(0)
    fusion = create_fusion("mult", in_dims=DIMS, out_dim=4, context="causal").eval()
    feats, mask = inputs(DIMS, lengths=(5, 5, 5))
    changed = {m: x.clone() for m, x in feats.items()}
    changed["audio"][:, 3] += 5.0
    with torch.no_grad():
        a, b = fusion(feats, mask), fusion(changed, mask)
    torch.testing.assert_close(a[:, :3], b[:, :3])
    assert not torch.allclose(a[:, 3:], b[:, 3:])


def test_sinusoidal_positions():
    codes = sinusoidal_positions(4, 6)
    assert codes.shape == (4, 6)
    torch.testing.assert_close(codes[0], torch.tensor([0.0, 1.0] * 3))
    torch.testing.assert_close(codes[2, 0], torch.sin(torch.tensor(2.0)))
    assert sinusoidal_positions(3, 5).shape == (3, 5)


def test_mult_option_errors():
    with pytest.raises(ValueError, match="heads"):
        create_fusion("mult", in_dims=DIMS, out_dim=4, d_model=10, heads=3)
    with pytest.raises(ValueError, match="layers"):
        create_fusion("mult", in_dims=DIMS, out_dim=4, layers=0)
    with pytest.raises(ValueError, match="context"):
        create_fusion("mult", in_dims=DIMS, out_dim=4, context="past")
