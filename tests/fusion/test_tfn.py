"""TFN against a by-hand outer product, and its utterance-wise nature."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lmam import create_fusion
from lmam.fusion.tfn import TensorFusion, outer_product
from tests.fusion.test_registry import DIMS, inputs


def test_outer_product_is_the_row_major_kronecker_product():
    a, b, c = torch.randn(3), torch.randn(4), torch.randn(2)
    torch.testing.assert_close(outer_product([a, b, c]), torch.kron(torch.kron(a, b), c))
    batched = outer_product([a.expand(5, 3), b.expand(5, 4)])
    assert batched.shape == (5, 12)
    torch.testing.assert_close(batched[2], torch.kron(a, b))


def test_tfn_equals_the_by_hand_tensor_fusion():
    torch.manual_seed(0)
    fusion = TensorFusion(DIMS, 7, hidden=3).eval()
    feats, mask = inputs(DIMS)
    out = fusion(feats, mask)
    layer = fusion.proj.layers
    for b, t in [(0, 0), (0, 4), (1, 2), (2, 1)]:
        padded = [
            torch.cat([F.relu(layer[m](feats[m][b, t])), torch.ones(1)]) for m in fusion.modalities
        ]
        vec = torch.kron(torch.kron(padded[0], padded[1]), padded[2])
        expected = F.relu(fusion.fusion.weight @ vec + fusion.fusion.bias)
        torch.testing.assert_close(out[b, t], expected)
    assert fusion.fusion.in_features == 4**3


def test_tfn_is_utterance_wise():
    torch.manual_seed(0)
    fusion = create_fusion("tfn", in_dims=DIMS, out_dim=5).eval()
    feats, mask = inputs(DIMS)
    changed = {m: x.clone() for m, x in feats.items()}
    changed["audio"][0, 2] += 3.0
    with torch.no_grad():
        a, b = fusion(feats, mask), fusion(changed, mask)
    differs = (a - b).abs().amax(-1) > 0
    assert differs[0, 2] and differs.sum() == 1


def test_tfn_option_errors():
    with pytest.raises(ValueError, match="hidden"):
        create_fusion("tfn", in_dims=DIMS, out_dim=4, hidden=0)
    with pytest.raises(ValueError, match="activation"):
        create_fusion("tfn", in_dims=DIMS, out_dim=4, activation="tanh")
