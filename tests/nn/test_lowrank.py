import torch

from lmam.nn import LowRankLinear


def test_forward_equals_dense_product_weight():
    layer = LowRankLinear(7, 5, rank=2)
    x = torch.randn(3, 4, 7)
    torch.testing.assert_close(layer(x), x @ layer.weight() + layer.bias)
    assert torch.linalg.matrix_rank(layer.weight().detach()) == 2
    assert sum(p.numel() for p in layer.parameters()) == 7 * 2 + 5 * 2 + 5


def test_initial_scale_close_to_linear():
    torch.manual_seed(0)
    layer = LowRankLinear(256, 256, rank=32, bias=False)
    x = torch.randn(4096, 256)
    ratio = layer(x).std() / torch.nn.Linear(256, 256, bias=False)(x).std()
    assert 0.7 < ratio < 1.4
    assert layer.bias is None
