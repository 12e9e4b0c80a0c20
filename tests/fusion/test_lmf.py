"""LMF is exactly TFN with a CP-rank-r fusion weight."""

from __future__ import annotations

import pytest
import torch

from lmam import create_fusion
from lmam.fusion.lmf import LMFFusion
from lmam.fusion.tfn import TensorFusion
from tests.fusion.test_registry import DIMS, inputs


@pytest.mark.parametrize("activation", ["relu", "none"])
@pytest.mark.parametrize("modalities", [("text", "audio"), ("text", "audio", "visual")])
def test_lmf_equals_tfn_whose_weight_has_exact_cp_rank(modalities, activation):
    torch.manual_seed(0)
    dims = {m: DIMS[m] for m in modalities}
    hidden, rank, out = 3, 2, 6
    tfn = TensorFusion(dims, out, hidden=hidden, activation=activation).eval()
    lmf = LMFFusion(dims, out, hidden=hidden, rank=rank, activation=activation).eval()
    lmf.proj.load_state_dict(tfn.proj.state_dict())  # the same unimodal subnetworks
    factors = [torch.randn(rank, hidden + 1, out) for _ in modalities]
    weights, bias = torch.randn(rank), torch.randn(out)
    # W[o, i_1, ..., i_M] = sum_k w_k prod_m F_m[k, i_m, o], flattened row-major like the TFN
    letters = "abc"[: len(modalities)]
    equation = "k," + ",".join(f"k{i}o" for i in letters) + "->o" + letters
    dense = torch.einsum(equation, weights, *factors).reshape(out, -1)
    with torch.no_grad():
        tfn.fusion.weight.copy_(dense)
        tfn.fusion.bias.copy_(bias)
        for m, factor in zip(modalities, factors):
            lmf.fusion.factors[m].copy_(factor)
        lmf.fusion.weights.copy_(weights)
        lmf.fusion.bias.copy_(bias)
        feats, mask = inputs(dims)
        expected = tfn(feats, mask)
        torch.testing.assert_close(lmf(feats, mask), expected, atol=1e-5, rtol=1e-5)
    assert expected.abs().sum() > 0


def test_lmf_parameters_grow_linearly_not_exponentially():
    tfn = create_fusion("tfn", in_dims=DIMS, out_dim=8, hidden=16)
    lmf = create_fusion("lmf", in_dims=DIMS, out_dim=8, hidden=16, rank=4)
    fusion_params = sum(p.numel() for p in lmf.fusion.parameters())
    assert fusion_params == 4 * 3 * 17 * 8 + 4 + 8
    assert tfn.fusion.weight.numel() == 17**3 * 8


def test_lmf_rank_must_be_positive():
    with pytest.raises(ValueError, match="rank"):
        create_fusion("lmf", in_dims=DIMS, out_dim=4, rank=0)
