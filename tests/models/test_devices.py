"""Every backbone and fusion runs on every device present, and under autocast.

Parametrised over :data:`tests.conftest.DEVICES` (the CPU always, CUDA when present),
so a GPU machine runs the same tests unchanged.
"""

from __future__ import annotations

import pytest
import torch

from lmam import list_fusions
from lmam.models import list_models
from lmam.train.precision import autocast
from tests.conftest import DEVICES
from tests.models.test_models import batch, small


def forward_backward(model, feats, mask, speakers, precision="32"):
    device = mask.device
    with autocast(precision, device):
        logits = model(feats, mask, speakers)
    logits = logits.float()
    labels = torch.randint(0, 3, mask.shape, generator=torch.Generator().manual_seed(1))
    loss = torch.nn.functional.cross_entropy(logits[mask], labels.to(device)[mask])
    for aux in model.aux_losses(labels.to(device), mask).values():
        loss = loss + aux
    loss.backward()
    grads = {n: p.grad.detach().cpu() for n, p in model.named_parameters() if p.grad is not None}
    return logits.detach().cpu(), grads


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("fusion", ["lmam", "none"])
def test_every_backbone_gives_the_cpus_results_on_every_device(device, name, fusion):
    feats, mask, speakers = batch()
    ref_logits, ref_grads = forward_backward(small(name, fusion, "early"), feats, mask, speakers)
    model = small(name, fusion, "early").to(device)
    logits, grads = forward_backward(
        model, {m: x.to(device) for m, x in feats.items()}, mask.to(device), speakers.to(device)
    )
    assert next(model.parameters()).device.type == device
    torch.testing.assert_close(logits, ref_logits, atol=1e-4, rtol=1e-4)
    assert grads.keys() == ref_grads.keys()
    for n in grads:
        torch.testing.assert_close(grads[n], ref_grads[n], atol=1e-3, rtol=1e-3, msg=n)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fusion", list_fusions())
def test_every_fusion_runs_on_every_device(device, fusion):
    feats, mask, speakers = batch()
    ref, _ = forward_backward(small("bclstm", fusion, "early_residual"), feats, mask, speakers)
    model = small("bclstm", fusion, "early_residual").to(device)
    got, _ = forward_backward(
        model, {m: x.to(device) for m, x in feats.items()}, mask.to(device), speakers.to(device)
    )
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", list_models())
def test_every_backbone_trains_under_bf16_autocast(name):
    """bf16 autocast (the CPU's reduced precision) runs every layer, graph and sparse
    products included, with finite gradients and logits near float32's."""
    feats, mask, speakers = batch()
    ref, _ = forward_backward(small(name, "lmam", "early_residual"), feats, mask, speakers)
    got, grads = forward_backward(
        small(name, "lmam", "early_residual"), feats, mask, speakers, precision="bf16"
    )
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert (got - ref).abs().max() < 0.1
