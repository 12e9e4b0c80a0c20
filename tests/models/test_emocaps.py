"""EmoCaps: the Emoformer equals a plain per-dialogue reference, the batch each
dialogue alone; every registered fusion trains in its slot; and the LoRA*
path: a trained self-attention slot becomes LoRA's frozen base, exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lmam import list_fusions
from lmam.fusion.lora import LoRAFusion
from lmam.models import create_model
from lmam.models.emocaps import SLOT_PREFIX, EmoCapsEncoder, Emoformer, slot_weights
from lmam.nn.lora import LoRALinear
from lmam.train import TrainConfig, train
from lmam.train.checkpoint import load_weights
from tests.models.test_m2fnet import reference_layer
from tests.models.test_models import batch, check_trains

DIMS = {"text": 7, "audio": 5, "visual": 6}
SIZES = {"dim": 8, "heads": 2, "ff": 12, "emotion_dim": 3, "hidden": 4}
LENGTHS = [7, 4, 1, 3]


def reference_emoformer(emo: Emoformer, x):
    """The Emoformer on one unpadded dialogue ``(n, D)`` -> ``(n, emotion_dim)``."""
    h = x @ emo.proj.weight.T + emo.proj.bias
    for layer in emo.layers:
        h = reference_layer(layer, h)
    return torch.relu(h @ emo.emotion.weight.T + emo.emotion.bias)


def encoder(dims=None, **options) -> EmoCapsEncoder:
    torch.manual_seed(0)
    return EmoCapsEncoder(dims or DIMS, 3, **{**SIZES, **options}).eval()


def dialogues(dims=None, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [{m: torch.randn(n, d, generator=g) for m, d in (dims or DIMS).items()} for n in LENGTHS]


def padded(dials, length, fill=0.0):
    dims = {m: x.shape[1] for m, x in dials[0].items()}
    feats = {m: torch.full((len(dials), length, d), fill) for m, d in dims.items()}
    mask = torch.zeros(len(dials), length, dtype=torch.bool)
    for b, dial in enumerate(dials):
        n = next(iter(dial.values())).shape[0]
        for m in dims:
            feats[m][b, :n] = dial[m]
        mask[b, :n] = True
    return feats, mask, torch.zeros(len(dials), length, dtype=torch.long)


@pytest.mark.parametrize("layers", [1, 2])
def test_emoformer_equals_a_plain_per_dialogue_reference(layers):
    torch.manual_seed(0)
    emo = Emoformer(5, 8, 2, layers, 12, 3, dropout=0.2).eval()
    dials = [torch.randn(n, 5) for n in LENGTHS]
    x = torch.full((len(dials), 9, 5), 40.0)
    mask = torch.zeros(len(dials), 9, dtype=torch.bool)
    for b, d in enumerate(dials):
        x[b, : len(d)] = d
        mask[b, : len(d)] = True
    with torch.no_grad():
        out = emo(x, mask)
        assert out.shape == (len(dials), 9, 3) and torch.all(out[~mask] == 0)
        for b, d in enumerate(dials):
            torch.testing.assert_close(
                out[b, : len(d)], reference_emoformer(emo, d), atol=1e-5, rtol=1e-5
            )


def test_default_slot_is_the_plain_concatenation_of_the_capsules():
    enc = encoder()
    assert enc.slot_fusion == "concat" and sum(p.numel() for p in enc.slot.parameters()) == 0
    dials = dialogues()
    feats, mask, _ = padded(dials, 9)
    with torch.no_grad():
        caps = enc.capsules(feats, mask)
        for b, dial in enumerate(dials):
            n = LENGTHS[b]
            for m in DIMS:
                want = torch.cat([dial[m], reference_emoformer(enc.emoformers[m], dial[m])], -1)
                torch.testing.assert_close(caps[m][b, :n], want, atol=1e-5, rtol=1e-5)
        fused = enc.slot(caps, mask)
    torch.testing.assert_close(fused, torch.cat([caps[m] for m in DIMS], -1) * mask[..., None])
    assert enc.lstm.fwd.input_size == sum(DIMS.values()) + 3 * SIZES["emotion_dim"]
    assert enc.out_dims == {"context": 2 * SIZES["hidden"]}


@pytest.mark.parametrize("slot", ["concat", "lmam", "self_attention"])
def test_batch_equals_each_dialogue_alone_and_padding_does_not_matter(slot):
    enc = encoder(slot_fusion=slot)
    dials = dialogues()
    with torch.no_grad():
        a = enc(*padded(dials, 7))["context"]
        b = enc(*padded(dials, 12, fill=1e3))["context"]
        torch.testing.assert_close(b[:, :7], a, atol=1e-5, rtol=1e-5)
        for i, dial in enumerate(dials):
            alone = enc(*padded([dial], LENGTHS[i]))["context"]
            torch.testing.assert_close(a[i, : LENGTHS[i]], alone[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("slot", list_fusions())
def test_every_registered_fusion_trains_in_the_slot(slot):
    torch.manual_seed(0)
    model = create_model("emocaps", in_dims=DIMS, num_classes=3, slot_fusion=slot, **SIZES)
    enc = model.encoders["all"]
    assert enc.slot_fusion == slot and enc.lstm.fwd.input_size == enc.slot.out_dim
    check_trains(model, *batch(dims=DIMS))


def test_slot_width_and_options_and_its_aux_losses():
    model = create_model(
        "emocaps",
        in_dims=DIMS,
        num_classes=3,
        slot_fusion="auxformer",
        slot_dim=6,
        slot_options={"aux_weight": 0.5},
        **SIZES,
    )
    assert model.encoders["all"].slot.out_dim == 6
    feats, mask, speakers = batch(dims=DIMS)
    model(feats, mask, speakers)
    losses = model.aux_losses(torch.randint(0, 3, mask.shape), mask)
    assert losses and all(k.startswith("slot.") for k in losses)
    lmam = create_model("emocaps", in_dims=DIMS, num_classes=3, slot_fusion="lmam", **SIZES)
    widths = [d + SIZES["emotion_dim"] for d in DIMS.values()]
    assert lmam.encoders["all"].slot.out_dim == min(widths)  # LMAM's own default width


def test_emocaps_star_and_the_default():
    model = create_model("emocaps", in_dims=DIMS, num_classes=4, **SIZES)
    assert model.fusion is None and model.classifier.in_features == 2 * SIZES["hidden"]
    star = create_model(
        "emocaps", in_dims=DIMS, num_classes=4, fusion="lmam", embed="early_residual", **SIZES
    )
    assert star.encoders["all"].slot_fusion == "concat" and set(star.residual_projs) == set(DIMS)


def test_one_modality():
    enc = encoder({"text": 7})
    feats, mask, spk = padded(dialogues({"text": 7}), 9)
    with torch.no_grad():
        assert enc(feats, mask, spk)["context"].shape == (4, 9, 2 * SIZES["hidden"])


# LoRA*: train EmoCaps with a self-attention slot, then LoRA on that base.

SLOT = {"slot_dim": 6, "slot_options": {"dim": 8}}


def run_config(tmp_path: Path, name: str, **options) -> TrainConfig:
    return TrainConfig(
        dataset="synthetic",
        dataset_options={"train": 16, "valid": 8, "test": 8},
        backbone="emocaps",
        fusion="none",
        epochs=2,
        batch_size=8,
        lr=0.01,
        model_options={**SIZES, **options},
        out_dir=str(tmp_path),
        name=name,
        threads=1,
        select="last",
    )


def test_lora_star_path_end_to_end(tmp_path):
    sa = train(run_config(tmp_path, "sa", slot_fusion="self_attention", **SLOT), quiet=True)
    sa_dir = Path(sa["run_dir"])
    trained = slot_weights(sa_dir)
    stored = load_file(str(sa_dir / "best" / "model.safetensors"))
    assert trained.keys() == {k[len(SLOT_PREFIX) :] for k in stored if k.startswith(SLOT_PREFIX)}
    assert all(torch.equal(v, stored[SLOT_PREFIX + k]) for k, v in trained.items())
    assert any(k.startswith("wq.") for k in trained)

    options = {
        "slot_fusion": "lora",
        "slot_base_run": str(sa_dir),
        "slot_dim": 6,
        "slot_options": {"dim": 8, "rank": 2, "alpha": 4.0},
    }
    lora_run = train(run_config(tmp_path, "lora", **options), quiet=True)
    lora_dir = Path(lora_run["run_dir"])
    after = load_file(str(lora_dir / "best" / "model.safetensors"))
    base = {
        k[len(SLOT_PREFIX) + len("base.") :]: v
        for k, v in after.items()
        if k.startswith(SLOT_PREFIX + "base.") and not k.endswith((".lora_A", ".lora_B"))
    }
    assert base.keys() == trained.keys()
    for k, v in trained.items():
        assert torch.equal(base[k], v), k  # unchanged by training
    lora_b = [v for k, v in after.items() if k.endswith(".lora_B")]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # the adapters trained

    # the trained LoRA model, rebuilt: the loaded base is exactly the trained
    # self-attention slot, frozen; merged weights are W + s B A (s = alpha / rank)
    in_dims = load_in_dims(lora_dir)
    torch.manual_seed(3)
    model = create_model("emocaps", in_dims=in_dims, num_classes=4, **SIZES, **options)
    slot = model.encoders["all"].slot
    assert isinstance(slot, LoRAFusion)
    loaded = {
        k: v for k, v in slot.base.state_dict().items() if not k.endswith((".lora_A", ".lora_B"))
    }
    assert loaded.keys() == trained.keys()
    assert all(torch.equal(loaded[k], v) for k, v in trained.items())
    assert not any(p.requires_grad for n, p in slot.base.named_parameters() if "lora_" not in n)
    trainable = {n for n, p in slot.named_parameters() if p.requires_grad}
    assert trainable and all(n.endswith((".lora_A", ".lora_B")) for n in trainable)
    load_weights(model, lora_dir / "best")
    merged = slot.merge()
    for name, layer in slot.adapters().items():
        assert isinstance(layer, LoRALinear) and layer.scaling == 4.0 / 2
        assert torch.equal(layer.weight, trained[f"{name}.weight"])
        want = layer.weight + 2.0 * layer.lora_B @ layer.lora_A
        torch.testing.assert_close(merged.get_submodule(name).weight, want)
    feats, mask, _ = batch(dims=slot.in_dims)
    with torch.no_grad():
        torch.testing.assert_close(merged.eval()(feats, mask), slot.eval()(feats, mask))


def load_in_dims(run_dir: Path) -> dict[str, int]:
    import json

    return dict(json.loads((run_dir / "best" / "model.json").read_text())["in_dims"])


def test_lora_star_refuses_what_does_not_fit(tmp_path):
    with pytest.raises(ValueError, match="slot_base_run needs slot_fusion='lora'"):
        create_model("emocaps", in_dims=DIMS, num_classes=3, slot_base_run=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no EmoCaps checkpoint"):
        create_model(
            "emocaps", in_dims=DIMS, num_classes=3, slot_fusion="lora", slot_base_run=str(tmp_path)
        )
    plain = train(run_config(tmp_path, "plain"), quiet=True)
    with pytest.raises(ValueError, match=r"slot_fusion='self_attention'.*slot 'concat'"):
        slot_weights(plain["run_dir"])
    sa = train(run_config(tmp_path, "sa", slot_fusion="self_attention", **SLOT), quiet=True)
    in_dims = load_in_dims(Path(sa["run_dir"]))
    with pytest.raises(ValueError, match="does not fit"):
        create_model(
            "emocaps",
            in_dims=in_dims,
            num_classes=4,
            slot_fusion="lora",
            slot_base_run=sa["run_dir"],
            slot_dim=5,  # another width than the trained slot's
            slot_options={"dim": 8},
            **SIZES,
        )
