"""Every registered fusion honours the contract (timm-style registry tests)."""

from __future__ import annotations

import pytest
import torch

import lmam
from lmam import create_fusion, list_fusions, register_fusion

DIMS = {"text": 10, "audio": 6, "visual": 8}
OUT = 12


def inputs(dims, batch=3, length=5, lengths=(5, 3, 2), seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = {m: torch.randn(batch, length, d, generator=g) for m, d in dims.items()}
    mask = torch.zeros(batch, length, dtype=torch.bool)
    for b, n in enumerate(lengths):
        mask[b, :n] = True
    return feats, mask


def test_registry_lists_the_foundation_fusions():
    assert {"add", "concat", "self_attention", "lmam"} <= set(list_fusions())
    assert list_fusions("l*") == sorted(n for n in list_fusions() if n.startswith("l"))
    assert lmam.list_fusions is list_fusions


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown fusion 'nope'.*lmam"):
        create_fusion("nope", in_dims=DIMS, out_dim=OUT)


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match=r"already registered"):
        register_fusion("lmam")(object)


@pytest.mark.parametrize("name", list_fusions())
@pytest.mark.parametrize("modalities", [("text",), ("text", "audio"), ("text", "audio", "visual")])
def test_shapes_finite_and_padding_zero(name, modalities):
    dims = {m: DIMS[m] for m in modalities}
    fusion = create_fusion(name, in_dims=dims, out_dim=OUT).eval()
    assert fusion.in_dims == dims and fusion.modalities == modalities
    feats, mask = inputs(dims)
    out = fusion(feats, mask)
    assert out.shape == (3, 5, fusion.out_dim)
    assert torch.isfinite(out).all()
    assert torch.all(out[~mask] == 0)


@pytest.mark.parametrize("name", list_fusions())
def test_padding_invariance(name):
    torch.manual_seed(0)
    fusion = create_fusion(name, in_dims=DIMS, out_dim=OUT).eval()
    feats, mask = inputs(DIMS)
    longer = {m: torch.cat([x, 50 * torch.randn(3, 3, x.shape[2])], 1) for m, x in feats.items()}
    longer["audio"][:, -1] = float("nan")
    longer_mask = torch.cat([mask, torch.zeros(3, 3, dtype=torch.bool)], 1)
    # garbage in the padded part of a dialogue must not leak either
    longer["text"][1, 4] = 1e6
    with torch.no_grad():
        torch.testing.assert_close(
            fusion(longer, longer_mask)[:, :5], fusion(feats, mask), atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize("name", list_fusions())
def test_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    fusion = create_fusion(name, in_dims=DIMS, out_dim=OUT)
    feats, mask = inputs(DIMS, lengths=(5, 3, 0))  # one dialogue fully padded
    out = fusion(feats, mask)
    loss = out.pow(2).sum() + sum(
        fusion.aux_losses(torch.zeros(3, 5, dtype=torch.long), mask).values(), torch.tensor(0.0)
    )
    loss.backward()
    assert torch.isfinite(out).all()
    for pname, p in fusion.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), pname
            if zero_at_init_by_design(name, pname):
                continue
            assert p.grad.abs().sum() > 0, pname


def zero_at_init_by_design(fusion_name, param_name):
    """The one allowed exception to "every trainable parameter gets a nonzero gradient".

    LoRA (Hu et al., 2022) initialises its adapters' ``B`` to zero, so the
    gradient of ``A`` (``scaling * B^T @ ...``) is exactly zero at step 0, by
    design. Only the ``lora_A`` parameters of the ``lora`` fusion are exempt;
    tests/fusion/test_lora.py checks that ``A`` gets a gradient once ``B != 0``.
    """
    return fusion_name == "lora" and param_name.endswith(".lora_A")


@pytest.mark.parametrize("name", list_fusions())
def test_modality_order_is_fixed_not_dict_order(name):
    fusion = create_fusion(name, in_dims=DIMS, out_dim=OUT).eval()
    feats, mask = inputs(DIMS)
    shuffled = {m: feats[m] for m in reversed(list(feats))}
    with torch.no_grad():
        torch.testing.assert_close(fusion(shuffled, mask), fusion(feats, mask))


@pytest.mark.parametrize("name", list_fusions())
def test_clear_errors_name_the_modality(name):
    fusion = create_fusion(name, in_dims=DIMS, out_dim=OUT)
    feats, mask = inputs(DIMS)
    bad_batch = dict(feats, audio=feats["audio"][:2])
    with pytest.raises(ValueError, match=r"'audio'.*batch"):
        fusion(bad_batch, mask)
    bad_time = dict(feats, visual=feats["visual"][:, :4])
    with pytest.raises(ValueError, match=r"'visual'.*time"):
        fusion(bad_time, mask)
    missing = {m: x for m, x in feats.items() if m != "text"}
    with pytest.raises(ValueError, match=r"missing modality 'text'"):
        fusion(missing, mask)
    with pytest.raises(ValueError, match=r"unknown modality 'depth'"):
        fusion(dict(feats, depth=feats["text"]), mask)
    with pytest.raises(ValueError, match=r"'text'.*width"):
        fusion(dict(feats, text=feats["text"][..., :3]), mask)
    with pytest.raises(ValueError, match=r"mask"):
        fusion(feats, mask[0])
    no_dialogue = {m: x[:0] for m, x in feats.items()}
    no_utterance = {m: x[:, :0] for m, x in feats.items()}
    for cut, cut_mask in ((no_dialogue, mask[:0]), (no_utterance, mask[:, :0])):
        with pytest.raises(ValueError, match=r"empty batch"):
            fusion(cut, cut_mask)
