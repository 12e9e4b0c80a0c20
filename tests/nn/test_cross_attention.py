"""The attention step shared by LMAM and the self-attention reference."""

from __future__ import annotations

import torch

from lmam import create_fusion


def test_fully_masked_half_precision_rows_stay_finite():
    """A padded query whose window holds only padded keys is fully masked; with
    very negative scores in float16 the mask must not overflow to -inf (NaN)."""
    fusion = create_fusion("self_attention", in_dims={"a": 3, "b": 3}, out_dim=2, context=0)
    keep = torch.zeros(1, 4, dtype=torch.bool)
    keep[0, :2] = True
    scores = [torch.full((1, 4, 2, 4), -100.0, dtype=torch.float16, requires_grad=True)]
    values = torch.randn(1, 2, 4, 4, dtype=torch.float16)
    (out,) = fusion.attend(scores, values, keep, torch.zeros_like(values))
    assert torch.isfinite(out).all()
    out.float().sum().backward()
    assert torch.isfinite(scores[0].grad).all()
