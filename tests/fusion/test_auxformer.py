"""AuxFormer: MulT's output plus unimodal auxiliary losses over real utterances."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from lmam import create_fusion
from lmam.fusion.auxformer import AuxFormerFusion
from lmam.fusion.mult import MulTFusion
from tests.fusion.test_registry import DIMS, inputs


def labels_with_garbage_at_padding(mask, num_classes, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, mask.shape, generator=g)
    return labels.masked_fill(~mask, -7)  # invalid ids: must never be read


def test_the_engine_flag_and_no_auxiliary_branch_by_default():
    assert AuxFormerFusion.wants_num_classes is True
    assert getattr(MulTFusion, "wants_num_classes", False) is False
    fusion = create_fusion("auxformer", in_dims=DIMS, out_dim=4)
    assert fusion.aux_head is None and len(fusion.aux_encoders) == 0
    feats, mask = inputs(DIMS)
    fusion(feats, mask)
    assert fusion.aux_losses(torch.zeros(3, 5, dtype=torch.long), mask) == {}


def test_main_output_is_mult_and_ignores_the_auxiliary_branches():
    torch.manual_seed(0)
    aux = create_fusion("auxformer", in_dims=DIMS, out_dim=4, num_classes=3).eval()
    mult = MulTFusion(DIMS, 4).eval()
    main = {k: v for k, v in aux.state_dict().items() if not k.startswith("aux_")}
    mult.load_state_dict(main)
    feats, mask = inputs(DIMS)
    with torch.no_grad():
        out = aux(feats, mask)
        torch.testing.assert_close(out, mult(feats, mask))
        for p in aux.aux_head.parameters():
            p.add_(1.0)
        torch.testing.assert_close(aux(feats, mask), out)


def test_aux_losses_are_weighted_cross_entropy_over_real_utterances():
    torch.manual_seed(0)
    fusion = create_fusion("auxformer", in_dims=DIMS, out_dim=4, num_classes=3, aux_weight=0.5)
    feats, mask = inputs(DIMS)
    labels = labels_with_garbage_at_padding(mask, 3)
    fusion(feats, mask)
    losses = fusion.aux_losses(labels, mask)
    assert set(losses) == {"aux_text", "aux_audio", "aux_visual"}
    for m in DIMS:
        logits = fusion.aux_logits[m]
        assert logits.shape == (3, 5, 3)
        expected = 0.5 * F.cross_entropy(logits[mask], labels[mask])
        torch.testing.assert_close(losses[f"aux_{m}"], expected)


def test_every_auxiliary_parameter_learns_from_its_loss():
    torch.manual_seed(0)
    fusion = create_fusion("auxformer", in_dims=DIMS, out_dim=4, num_classes=3)
    feats, mask = inputs(DIMS, lengths=(5, 3, 0))
    fusion(feats, mask)
    losses = fusion.aux_losses(labels_with_garbage_at_padding(mask, 3), mask)
    sum(losses.values()).backward()
    for name, p in fusion.named_parameters():
        if name.startswith(("aux_", "embed.")):
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:  # the main branch is untouched by the auxiliary losses
            assert p.grad is None or p.grad.abs().sum() == 0, name


def test_no_real_utterance_gives_a_zero_loss_and_regression_uses_mse():
    fusion = AuxFormerFusion(DIMS, 4, num_classes=1)
    feats, mask = inputs(DIMS)
    fusion(feats, mask)
    empty = fusion.aux_losses(torch.zeros(3, 5), torch.zeros(3, 5, dtype=torch.bool))
    assert all(v.item() == 0.0 for v in empty.values())
    targets = torch.randn(3, 5)
    loss = fusion.aux_losses(targets, mask)["aux_text"]
    expected = F.mse_loss(fusion.aux_logits["text"][mask].squeeze(-1), targets[mask])
    torch.testing.assert_close(loss, expected)


def test_aux_loss_errors():
    fusion = AuxFormerFusion(DIMS, 4, num_classes=3)
    feats, mask = inputs(DIMS)
    with pytest.raises(RuntimeError, match="forward"):
        fusion.aux_losses(torch.zeros(3, 5, dtype=torch.long), mask)
    fusion(feats, mask)
    with pytest.raises(ValueError, match="float labels"):
        fusion.aux_losses(torch.zeros(3, 5), mask)
    with pytest.raises(ValueError, match="num_classes"):
        AuxFormerFusion(DIMS, 4, num_classes=-1)


def test_a_model_can_be_copied_after_a_training_forward():
    fusion = AuxFormerFusion(DIMS, 4, num_classes=3)
    feats, mask = inputs(DIMS)
    fusion(feats, mask)
    clone = copy.deepcopy(fusion)
    assert clone.aux_logits == {} and set(fusion.aux_logits) == set(DIMS)
    torch.testing.assert_close(clone(feats, mask), fusion(feats, mask))
