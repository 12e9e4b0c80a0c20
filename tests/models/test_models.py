"""Every model takes every fusion at every embedding point (registry-parametrized)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lmam import list_fusions
from lmam.models import EMBEDS, ERCModel, create_model, list_models
from lmam.models.registry import register_backbone

DIMS = {"text": 10, "audio": 6, "visual": 8}
FUSIONS = ["concat", "lmam", "self_attention"]
SMALL = {
    "bclstm": {"hidden": 8, "dense": 8},
    "textcnn": {"filters": 4, "widths": (2, 3), "dense": 8},
    "dialoguernn": {"d_g": 8, "d_p": 6, "d_e": 5, "d_h": 8, "att_dim": 4, "listener": True},
    "dialoguegcn": {"d_e": 4, "graph_hidden": 6, "d_h": 8, "num_speakers": 3, "num_bases": 2},
    "mmdfn": {"hidden": 6, "graph_hidden": 5, "layers": 2, "num_speakers": 3},
    "m2fnet": {"dim": 8, "heads": 2, "ff": 8, "fusion_layers": 2},
    "emocaps": {"dim": 8, "heads": 2, "ff": 8, "emotion_dim": 4, "hidden": 4},
}


def small(name: str, fusion: str, embed: str, dims=None, **extra):
    torch.manual_seed(0)
    options = SMALL.get(name, {})
    return create_model(
        name,
        in_dims=dims or DIMS,
        num_classes=3,
        fusion=fusion,
        embed=embed,
        **options,
        **extra,
    )


def batch(lengths=(5, 3, 1), length=5, seed=0, dims=None):
    g = torch.Generator().manual_seed(seed)
    dims = dims or DIMS
    feats = {m: torch.randn(len(lengths), length, d, generator=g) for m, d in dims.items()}
    mask = torch.zeros(len(lengths), length, dtype=torch.bool)
    for b, n in enumerate(lengths):
        mask[b, :n] = True
    speakers = torch.randint(0, 3, (len(lengths), length), generator=g)
    return feats, mask, speakers


def check_trains(model: nn.Module, feats, mask, speakers) -> None:
    """Shapes, zeros at padding, and a finite gradient for every parameter."""
    logits = model(feats, mask, speakers)
    assert logits.shape == (*mask.shape, 3)
    assert torch.isfinite(logits).all()
    assert torch.all(logits[~mask] == 0)
    labels = torch.randint(0, 3, mask.shape)
    loss = torch.nn.functional.cross_entropy(logits[mask], labels[mask])
    for aux in model.aux_losses(labels, mask).values():
        loss = loss + aux
    loss.backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def check_padding_invariance(model: nn.Module, dims=None) -> None:
    model.eval()
    feats, mask, speakers = batch(dims=dims)
    longer = {m: torch.cat([x, 9 * torch.randn(3, 4, x.shape[2])], 1) for m, x in feats.items()}
    longer_mask = torch.cat([mask, torch.zeros(3, 4, dtype=torch.bool)], 1)
    longer_speakers = torch.cat([speakers, torch.full((3, 4), 5)], 1)
    with torch.no_grad():
        a = model(feats, mask, speakers)
        b = model(longer, longer_mask, longer_speakers)
    torch.testing.assert_close(b[:, :5], a, atol=1e-5, rtol=1e-5)


def test_registry():
    assert {"bclstm", "textcnn", "dialoguernn", "dialoguegcn", "mmdfn", "m2fnet", "emocaps"} <= set(
        list_models()
    )
    assert list_models("dialogue*") == ["dialoguegcn", "dialoguernn"]
    with pytest.raises(ValueError, match=r"unknown model 'nope'.*bclstm"):
        create_model("nope", in_dims=DIMS, num_classes=3)
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("bclstm", nn.Linear, label="x", description="x")
    for name in list_models():
        with pytest.raises(ValueError, match="embed"):
            small(name, "concat", "middle")
        with pytest.raises(ValueError, match="unknown fusion"):
            small(name, "nope", "early")
        with pytest.raises(ValueError, match="num_classes"):
            create_model(name, in_dims=DIMS, num_classes=0)


def model_points() -> list[tuple[str, str]]:
    """Every (model, embed) pair the contract defines: ``late_text`` only for
    single-stream backbones (a multimodal one refuses it, tested below)."""
    multimodal = {n for n in list_models() if small(n, "none", "early").multimodal}
    return [
        (n, e) for n in list_models() for e in EMBEDS if not (e == "late_text" and n in multimodal)
    ]


POINTS = model_points()


@pytest.mark.parametrize(("name", "embed"), POINTS)
@pytest.mark.parametrize("fusion", FUSIONS)
def test_every_model_trains_at_every_embedding_point(name, embed, fusion):
    model = small(name, fusion, embed)
    check_trains(model, *batch())
    with pytest.raises(ValueError, match="missing modality 'visual'"):
        feats, mask, speakers = batch()
        del feats["visual"]
        model(feats, mask, speakers)


@pytest.mark.parametrize(("name", "embed"), POINTS)
@pytest.mark.parametrize("fusion", FUSIONS)
def test_padding_invariance(name, embed, fusion):
    check_padding_invariance(small(name, fusion, embed))


@pytest.mark.parametrize(("name", "embed"), POINTS)
@pytest.mark.parametrize("dims", [{"text": 10}, DIMS], ids=["one", "three"])
def test_one_and_three_modalities(name, embed, dims):
    model = small(name, "lmam", embed, dims=dims)
    check_trains(model, *batch(dims=dims))


@pytest.mark.parametrize("fusion", list_fusions())
@pytest.mark.parametrize("embed", EMBEDS)
def test_any_fusion_at_any_embedding_point(fusion, embed):
    check_trains(small("bclstm", fusion, embed), *batch())


def test_attention_variant_adds_the_matching_attention():
    plain = small("bclstm", "concat", "early")
    att = small("bclstm", "concat", "early", attention=True)
    extra = sum(p.numel() for p in att.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == 16 * 16 + 16  # general2 transform over the 2*hidden LSTM outputs


def test_embedding_points_wire_the_fusion_where_documented():
    early = small("bclstm", "lmam", "early", fusion_dim=24)
    assert early.encoders["all"].lstm.fwd.input_size == early.fusion.out_dim == 24
    residual = small("bclstm", "lmam", "early_residual")
    assert residual.encoders["all"].lstm.fwd.input_size == 24
    assert residual.residual_proj.in_features == residual.fusion.out_dim
    late = small("bclstm", "lmam", "late")
    assert set(late.encoders) == set(DIMS)
    assert late.fusion.in_dims == dict.fromkeys(DIMS, 8)
    assert late.classifier.in_features == late.fusion.out_dim
    parallel = small("bclstm", "lmam", "parallel")
    assert parallel.encoders["all"].lstm.fwd.input_size == 24  # the plain concatenation
    assert parallel.parallel_proj.in_features == parallel.fusion.out_dim
    assert parallel.parallel_proj.out_features == parallel.classifier.in_features == 8


def test_parallel_adds_the_projected_fusion_to_the_backbone_output():
    model = small("bclstm", "lmam", "parallel").eval()
    feats, mask, speakers = batch()
    with torch.no_grad():
        h = model.features(feats, mask, speakers)
        x = torch.cat([feats[m].masked_fill(~mask.unsqueeze(-1), 0) for m in DIMS], -1)
        backbone = model.encoders["all"](x, mask, speakers)
        side = model.parallel_proj(model.fusion(feats, mask))
    keep = mask.bool()
    torch.testing.assert_close(h[keep], (backbone + side)[keep])  # real utterances
    torch.testing.assert_close(h[~keep], backbone[~keep])  # padding: no projected bias added


def test_late_text_encodes_only_the_text_and_fuses_it_with_the_raw_others():
    model = small("bclstm", "lmam", "late_text").eval()
    assert set(model.encoders) == {"text"}
    assert model.fusion.in_dims == {"text": 8, "audio": 6, "visual": 8}
    feats, mask, speakers = batch()
    with torch.no_grad():
        h = model.features(feats, mask, speakers)
        clean = {m: x.masked_fill(~mask.unsqueeze(-1), 0) for m, x in feats.items()}
        clean["text"] = model.encoders["text"](clean["text"], mask, speakers)
        want = model.fusion(clean, mask)
    torch.testing.assert_close(h, want)


def test_late_text_needs_a_text_modality_and_a_single_stream_backbone():
    with pytest.raises(ValueError, match="needs a modality named 'text'"):
        small("bclstm", "lmam", "late_text", dims={"audio": 6, "visual": 8})
    with pytest.raises(ValueError, match="single-stream backbone"):
        toy("lmam", "late_text")
    for name in list_models():
        if (name, "late_text") not in POINTS:
            with pytest.raises(ValueError, match="single-stream backbone"):
                small(name, "lmam", "late_text")


def test_lmam_default_width_is_the_narrowest_input():
    model = small("bclstm", "lmam", "early_residual")
    assert model.fusion.out_dim == min(DIMS.values())
    assert small("bclstm", "concat", "early").fusion.out_dim == sum(DIMS.values())


class ToyMultimodal(nn.Module):
    """A multimodal-by-design backbone for the contract's tests: per modality a
    linear map and a running mean over the conversation, and a built-in fusion
    (each stream plus the mean of all). ``{m: (B, T, D_m)} -> {m: (B, T, 4)}``."""

    multimodal = True

    def __init__(self, in_dims: dict[str, int]) -> None:
        super().__init__()
        self.seen = dict(in_dims)
        self.maps = nn.ModuleDict({m: nn.Linear(d, 4) for m, d in in_dims.items()})
        self.out_dims = dict.fromkeys(in_dims, 4)

    def forward(self, feats, mask, speakers):
        keep = mask.unsqueeze(-1).float()
        steps = torch.cumsum(keep, 1).clamp(min=1)
        h = {m: torch.cumsum(self.maps[m](feats[m]) * keep, 1) / steps for m in self.maps}
        mean = sum(h.values()) / len(h)
        return {m: (v + mean) * keep for m, v in h.items()}


def toy(fusion: str, embed: str) -> ERCModel:
    torch.manual_seed(0)
    return ERCModel(
        ToyMultimodal, in_dims=DIMS, num_classes=3, fusion=fusion, embed=embed, multimodal=True
    )


MULTIMODAL_EMBEDS = [e for e in EMBEDS if e != "late_text"]


@pytest.mark.parametrize("embed", MULTIMODAL_EMBEDS)
@pytest.mark.parametrize("fusion", FUSIONS)
def test_multimodal_backbone_at_every_embedding_point(embed, fusion):
    model = toy(fusion, embed)
    check_trains(model, *batch())
    check_padding_invariance(toy(fusion, embed))


def test_multimodal_backbone_gets_one_stream_per_modality():
    early = toy("lmam", "early")
    d_out = early.fusion.d_out
    assert early.encoders["all"].seen == dict.fromkeys(DIMS, d_out)
    residual = toy("lmam", "early_residual")
    assert residual.encoders["all"].seen == DIMS
    assert {m: p.out_features for m, p in residual.residual_projs.items()} == DIMS
    late = toy("lmam", "late")
    assert late.fusion.in_dims == dict.fromkeys(DIMS, 4)
    # early_residual: x_m + W_m O_m, with O_m the fusion's per-modality output
    feats, mask, speakers = batch()
    residual.eval()
    seen = {}
    residual.encoders["all"].register_forward_hook(lambda mod, args, out: seen.update(args[0]))
    with torch.no_grad():
        residual(feats, mask, speakers)
        o = residual.fusion.per_modality(feats, mask)
    keep = mask.bool()
    for m in DIMS:  # the real utterances; padding stays zero (no projected bias added)
        want = feats[m].masked_fill(~mask.unsqueeze(-1), 0) + residual.residual_projs[m](o[m])
        torch.testing.assert_close(seen[m][keep], want[keep])
        assert (seen[m][~keep] == 0).all()


@pytest.mark.parametrize("name", list_models())
def test_no_fusion_runs_the_backbone_on_the_raw_modalities(name):
    model = small(name, "none", "early")
    assert model.fusion is None
    check_trains(model, *batch())
    check_padding_invariance(small(name, "none", "early"))
    assert model.aux_losses(torch.zeros(3, 5, dtype=torch.long), batch()[1]) == {}
    model.eval()
    feats, mask, speakers = batch()
    clean = {m: x.masked_fill(~mask.unsqueeze(-1), 0) for m, x in feats.items()}
    with torch.no_grad():
        h = model.features(feats, mask, speakers)
        if model.multimodal:
            want = torch.cat(list(model.encoders["all"](clean, mask, speakers).values()), -1)
        else:
            want = model.encoders["all"](torch.cat(list(clean.values()), -1), mask, speakers)
    torch.testing.assert_close(h, want)


@pytest.mark.parametrize("embed", [e for e in EMBEDS if e != "early"])
def test_no_fusion_takes_only_the_early_embedding(embed):
    for name in ("bclstm", "mmdfn"):
        with pytest.raises(ValueError, match=r"fusion='none' works only with embed='early'"):
            small(name, "none", embed)


def test_no_fusion_gives_a_multimodal_backbone_the_raw_modalities():
    model = toy("none", "early")
    assert model.encoders["all"].seen == DIMS
    assert model.classifier.in_features == 4 * len(DIMS)
    check_trains(model, *batch())


def dialogues(lengths, seed=1, dims=None):
    """One ``(feats, speakers)`` per dialogue, each of its own length."""
    g = torch.Generator().manual_seed(seed)
    dims = dims or DIMS
    return [
        (
            {m: torch.randn(n, d, generator=g) for m, d in dims.items()},
            torch.randint(0, 3, (n,), generator=g),
        )
        for n in lengths
    ]


def run_batch(model, items):
    """The model's outputs for a right-padded batch of ``items``, one tensor per item."""
    t = max(s.shape[0] for _, s in items)
    feats = {
        m: torch.stack(
            [torch.cat([f[m], torch.zeros(t - f[m].shape[0], f[m].shape[1])]) for f, _ in items]
        )
        for m in items[0][0]
    }
    mask = torch.stack([torch.arange(t) < s.shape[0] for _, s in items])
    speakers = torch.stack(
        [torch.cat([s, torch.zeros(t - len(s), dtype=s.dtype)]) for _, s in items]
    )
    out = model(feats, mask, speakers)
    return [out[i, : s.shape[0]] for i, (_, s) in enumerate(items)]


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize(("fusion", "embed"), [("lmam", "early_residual"), ("concat", "early")])
def test_bucketed_and_random_batches_give_each_dialogue_its_own_output(name, fusion, embed):
    """Padding-exact on the batches training draws: each dialogue's output is the same
    alone, in a length bucket, or in a random batch."""
    from lmam.data.batching import epoch_batches

    model = small(name, fusion, embed).eval()
    lengths = [2, 9, 3, 7, 5, 1, 8, 4, 6, 9]
    items = dialogues(lengths)
    with torch.no_grad():
        alone = [run_batch(model, [it])[0] for it in items]
        for batching in ("bucketed", "random"):
            for indices in epoch_batches(lengths, 3, seed=0, epoch=1, batching=batching):
                outs = run_batch(model, [items[i] for i in indices])
                for i, out in zip(indices, outs):
                    torch.testing.assert_close(out, alone[i], atol=1e-5, rtol=1e-5)
