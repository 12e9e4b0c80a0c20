import math

import torch
from torch import nn

from lmam.nn.init import keras_init_


def test_keras_defaults():
    torch.manual_seed(0)
    model = nn.ModuleDict(
        {
            "lin": nn.Linear(30, 10),
            "gru": nn.GRU(8, 5),
            "lstm": nn.LSTM(8, 5),
            "ln": nn.LayerNorm(4),
        }
    )
    nn.init.constant_(model["ln"].weight, 3.0)
    keras_init_(model)
    limit = math.sqrt(6 / (30 + 10))
    assert model["lin"].weight.abs().max() <= limit and model["lin"].weight.abs().max() > limit / 2
    assert torch.all(model["lin"].bias == 0)
    for rnn, gates in ((model["gru"], 3), (model["lstm"], 4)):
        w = rnn.weight_hh_l0  # (gates * H, H): orthonormal columns
        torch.testing.assert_close(w.T @ w, torch.eye(5), atol=1e-5, rtol=0)
        assert rnn.weight_ih_l0.abs().max() <= math.sqrt(6 / (8 + gates * 5))
        assert torch.all(rnn.bias_ih_l0 == 0) and torch.all(rnn.bias_hh_l0 == 0)
    assert torch.all(model["ln"].weight == 3.0)  # untouched


def test_a_model_with_keras_init_is_seeded():
    import lmam

    def build():
        torch.manual_seed(3)
        return lmam.create_model("bclstm", in_dims={"t": 4}, num_classes=2, init="keras")

    a, b = build(), build()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name
    assert torch.all(a.classifier.bias == 0)
