"""The authors'-code option set against a loop written the way that code loops."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lmam import create_fusion
from lmam.nn import AuthorsCodeLMAM


def make_inputs(dims, batch=3, length=6, lengths=(6, 4, 1), seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = {m: torch.randn(batch, length, d, generator=g) for m, d in dims.items()}
    mask = torch.zeros(batch, length)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    return feats, mask


def reference(module: AuthorsCodeLMAM, feats, mask):
    """Utterance by utterance, masking as that code does: padded memory rows and
    their scores are zeroed, the softmax runs over every position, then the
    weights are masked and renormalised."""
    mods = module.modalities
    xs = {}
    for m in mods:
        x = feats[m] * mask.unsqueeze(-1)
        xs[m] = module.proj[m](x) * mask.unsqueeze(-1) if m in module.proj else x
    memory = xs[mods[0]]  # (B, T, d)
    length = memory.shape[1]
    fused = torch.zeros_like(memory)
    for m in mods:
        for t in range(length):
            q = module.query(xs[m][:, t])  # (B, d)
            raw = torch.einsum("bd,bkd->bk", q, memory) * mask
            alpha = F.softmax(torch.tanh(raw), dim=1) * mask
            alpha = alpha / alpha.sum(dim=1, keepdim=True)
            fused[:, t] += torch.einsum("bk,bkd->bd", alpha, memory)
    out = F.gelu(fused) + memory
    if module.out is not None:
        out = module.out(out)
    return out * mask.unsqueeze(-1)


@pytest.mark.parametrize(
    "dims,out_dim",
    [
        ({"text": 5, "audio": 5, "visual": 5}, 5),  # the authors' setting: no added layers
        ({"text": 5, "audio": 5, "visual": 5}, 7),
        ({"text": 6, "audio": 3, "visual": 9}, 4),  # input projections
        ({"text": 4}, 4),
    ],
)
def test_equals_the_utterance_loop(dims, out_dim):
    torch.manual_seed(1)
    module = AuthorsCodeLMAM(dims, out_dim)
    with torch.no_grad():
        module.query.weight.normal_()  # larger than the initial 0.01, so the test is sharp
    feats, mask = make_inputs(dims)
    torch.testing.assert_close(module(feats, mask), reference(module, feats, mask))


def test_parameters_and_registry():
    module = create_fusion("lmam_authors_code", in_dims={"text": 512, "audio": 512}, out_dim=512)
    assert isinstance(module, AuthorsCodeLMAM) and module.out is None
    assert sum(p.numel() for p in module.parameters()) == 512 * 512 + 512
    projected = AuthorsCodeLMAM({"text": 8, "audio": 3}, 2)
    expected = (8 * 8 + 8) + (3 * 8 + 8) + (8 * 2 + 2)
    assert sum(p.numel() for p in projected.parameters()) == expected


def test_keys_values_and_residual_come_from_the_first_modality():
    torch.manual_seed(2)
    module = AuthorsCodeLMAM({"text": 4, "audio": 4}, 4)
    feats, mask = make_inputs({"text": 4, "audio": 4}, lengths=(6, 6, 6))
    louder = 3 * feats["audio"] + 1
    # audio only ever queries: it moves the weights over the text utterances ...
    assert not torch.allclose(module(feats, mask), module({**feats, "audio": louder}, mask))
    # ... so when every text utterance is the same, audio cannot matter at all
    same = feats["text"][:, :1].expand(-1, 6, -1)
    torch.testing.assert_close(
        module({"text": same, "audio": feats["audio"]}, mask),
        module({"text": same, "audio": louder}, mask),
    )
    # whereas paper-LMAM attends over the audio utterances too
    lmam = create_fusion("lmam", in_dims={"text": 4, "audio": 4}, out_dim=4, rank=2)
    assert not torch.allclose(
        lmam({"text": same, "audio": feats["audio"]}, mask),
        lmam({"text": same, "audio": louder}, mask),
    )
