"""LoRALinear: a frozen Linear plus s * B A."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmam.nn.lora import LoRALinear


def test_starts_as_the_frozen_layer_and_only_the_adapter_trains():
    torch.manual_seed(0)
    base = nn.Linear(5, 3)
    lora = LoRALinear(base, rank=2)
    x = torch.randn(4, 5)
    torch.testing.assert_close(lora(x), base(x))
    assert torch.all(lora.lora_B == 0) and lora.lora_A.abs().sum() > 0
    trainable = {n for n, p in lora.named_parameters() if p.requires_grad}
    assert trainable == {"lora_A", "lora_B"}


def test_forward_is_the_merged_weight_and_scaling_is_alpha_over_rank():
    torch.manual_seed(0)
    lora = LoRALinear(nn.Linear(5, 3), rank=2, alpha=6.0)
    assert lora.scaling == 3.0
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(2, 4, 5)
    expected_weight = lora.weight + 3.0 * lora.lora_B @ lora.lora_A
    torch.testing.assert_close(lora.merged_weight(), expected_weight)
    torch.testing.assert_close(lora(x), F.linear(x, expected_weight, lora.bias))


def test_gradients_of_a_and_b():
    torch.manual_seed(0)
    lora = LoRALinear(nn.Linear(5, 3), rank=2)
    x = torch.randn(4, 5)
    lora(x).pow(2).sum().backward()
    assert lora.lora_B.grad.abs().sum() > 0
    assert torch.all(lora.lora_A.grad == 0)  # B = 0: by design, A waits one step
    lora.zero_grad()
    with torch.no_grad():
        lora.lora_B.normal_()
    lora(x).pow(2).sum().backward()
    assert lora.lora_A.grad.abs().sum() > 0


def test_state_dict_without_adapters_is_a_linear_one():
    lora = LoRALinear(nn.Linear(5, 3, bias=False), rank=1)
    plain = nn.Linear(5, 3, bias=False)
    plain.load_state_dict({k: v for k, v in lora.state_dict().items() if "lora" not in k})
    torch.testing.assert_close(plain.weight, lora.weight)
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(nn.Linear(5, 3), rank=0)
