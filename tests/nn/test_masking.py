import pytest
import torch

from lmam.nn import context_mask, masked_softmax


def test_masked_softmax_zero_outside_mask_and_normalised_inside():
    scores = torch.randn(4, 6, requires_grad=True)
    mask = torch.tensor([[1, 1, 0, 1, 0, 0]] * 3 + [[0] * 6], dtype=torch.bool)
    w = masked_softmax(scores, mask)
    assert torch.all(w[~mask] == 0)
    torch.testing.assert_close(w[:3].sum(-1), torch.ones(3))
    assert torch.all(w[3] == 0)  # a fully masked row is zeros, not NaN
    expected = torch.softmax(scores[0, [0, 1, 3]], dim=0)
    torch.testing.assert_close(w[0, [0, 1, 3]], expected)
    w.sum().backward()
    assert torch.isfinite(scores.grad).all()


def test_context_masks():
    assert context_mask(4, "full") is None
    causal = context_mask(4, "causal")
    assert causal.tolist() == [[j <= i for j in range(4)] for i in range(4)]
    window = context_mask(5, 1)
    assert window.tolist() == [[abs(i - j) <= 1 for j in range(5)] for i in range(5)]
    for bad in ("future", -1, True, 1.5):
        with pytest.raises(ValueError):
            context_mask(3, bad)
