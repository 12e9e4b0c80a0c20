import torch

from lmam import create_fusion


def test_concat_without_projection_is_plain_concatenation():
    dims = {"text": 3, "audio": 2}
    fusion = create_fusion("concat", in_dims=dims, out_dim=5)
    assert sum(p.numel() for p in fusion.parameters()) == 0
    feats = {"text": torch.randn(2, 4, 3), "audio": torch.randn(2, 4, 2)}
    mask = torch.ones(2, 4, dtype=torch.bool)
    torch.testing.assert_close(fusion(feats, mask), torch.cat([feats["text"], feats["audio"]], -1))


def test_add_of_equal_widths_is_plain_sum():
    dims = {"text": 4, "audio": 4}
    fusion = create_fusion("add", in_dims=dims, out_dim=4)
    feats = {"text": torch.randn(2, 3, 4), "audio": torch.randn(2, 3, 4)}
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    out = fusion(feats, mask)
    torch.testing.assert_close(out[0], feats["text"][0] + feats["audio"][0])
    assert torch.all(out[1, 1:] == 0)


def test_self_attention_parameter_count():
    d, k, d_out = 8, 3, 5
    fusion = create_fusion("self_attention", in_dims={f"m{i}": d for i in range(k)}, out_dim=d_out)
    per = 3 * ((d + 1) ** 2 + (d + 1)) + 2 * (d + 1) + (d + 1) * d_out + d_out
    assert sum(p.numel() for p in fusion.parameters()) == k * per
