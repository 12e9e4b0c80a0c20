"""LoRA on the self-attention fusion: frozen base, adapters, checkpoints, merge."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from lmam import create_fusion
from lmam.fusion.lora import LoRAFusion
from lmam.fusion.self_attention import SelfAttentionFusion
from lmam.nn.lora import LoRALinear
from tests.fusion.test_registry import DIMS, inputs


def pretrained_base(seed=0):
    torch.manual_seed(seed)
    return SelfAttentionFusion(DIMS, 6).eval()


def test_only_the_adapters_train():
    fusion = create_fusion("lora", in_dims=DIMS, out_dim=6, rank=2)
    trainable = [n for n, p in fusion.named_parameters() if p.requires_grad]
    assert trainable and all(n.endswith((".lora_A", ".lora_B")) for n in trainable)
    assert len(fusion.adapters()) == 3 * 3  # W^Q, W^K, W^V of every modality
    width = fusion.base.dim + 1
    assert sum(fusion.get_parameter(n).numel() for n in trainable) == 9 * 2 * (2 * width)
    frozen = [n for n, p in fusion.named_parameters() if not p.requires_grad]
    assert "base.norm.text.weight" in frozen and "base.wq.text.weight" in frozen


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_zero_b_gives_exactly_the_checkpointed_base(tmp_path, suffix):
    base = pretrained_base()
    path = tmp_path / f"base{suffix}"
    if suffix == ".pt":
        torch.save(base.state_dict(), path)
    else:
        save_file({k: v.contiguous() for k, v in base.state_dict().items()}, str(path))
    fusion = create_fusion("lora", in_dims=DIMS, out_dim=6, base_checkpoint=str(path)).eval()
    feats, mask = inputs(DIMS)
    with torch.no_grad():
        torch.testing.assert_close(fusion(feats, mask), base(feats, mask))


def test_merge_folds_scaling_b_a_into_the_base_weights():
    base = pretrained_base()
    fusion = LoRAFusion(DIMS, 6, rank=3, alpha=6.0, targets=("wq", "wv", "out")).eval()
    fusion.base.load_state_dict(base.state_dict(), strict=False)  # the base weights only
    with torch.no_grad():
        for layer in fusion.adapters().values():
            layer.lora_B.normal_()
    merged = fusion.merge().eval()
    for m in DIMS:
        for group in ("wq", "wv", "out"):
            layer = fusion.base.get_submodule(f"{group}.{m}")
            assert isinstance(layer, LoRALinear)
            expected = getattr(base, group)[m].weight + 2.0 * layer.lora_B @ layer.lora_A
            torch.testing.assert_close(getattr(merged, group)[m].weight, expected)
        torch.testing.assert_close(merged.wk[m].weight, base.wk[m].weight)  # not adapted
    feats, mask = inputs(DIMS)
    with torch.no_grad():
        out = fusion(feats, mask)
        torch.testing.assert_close(merged(feats, mask), out, atol=1e-5, rtol=1e-5)
        assert not torch.allclose(out, base(feats, mask))


def test_a_gets_a_gradient_once_b_is_nonzero():
    """The counterpart of the registry test's documented lora_A exception."""
    torch.manual_seed(0)
    fusion = create_fusion("lora", in_dims=DIMS, out_dim=6)
    feats, mask = inputs(DIMS, lengths=(5, 3, 0))
    with torch.no_grad():
        for layer in fusion.adapters().values():
            layer.lora_B.normal_(std=0.1)
    fusion(feats, mask).pow(2).sum().backward()
    for name, p in fusion.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_option_and_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="targets"):
        create_fusion("lora", in_dims=DIMS, out_dim=6, targets=("wq", "norm"))
    path = tmp_path / "not_a_state_dict.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match="state dict"):
        create_fusion("lora", in_dims=DIMS, out_dim=6, base_checkpoint=str(path))
    wrong = tmp_path / "wrong_shape.pt"
    torch.save(SelfAttentionFusion(DIMS, 7).state_dict(), wrong)
    with pytest.raises(RuntimeError, match="size mismatch"):
        create_fusion("lora", in_dims=DIMS, out_dim=6, base_checkpoint=str(wrong))
