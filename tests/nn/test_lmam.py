"""LMAM against a plain row-by-row Algorithm 1 written here, and its properties."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from lmam import create_fusion
from lmam.nn import LMAM, lmam_rowwise

MODS = {"text": 6, "audio": 6, "visual": 6}


def make_inputs(batch=3, length=5, dims=MODS, seed=0, lengths=(5, 3, 1)):
    g = torch.Generator().manual_seed(seed)
    feats = {m: torch.randn(batch, length, d, generator=g) for m, d in dims.items()}
    mask = torch.zeros(batch, length)
    for b, n in enumerate(lengths[:batch]):
        mask[b, :n] = 1
    return feats, mask


def reference(module: LMAM, feats, mask):
    """Algorithm 1, one dialogue, one target, one source and one utterance at a time."""
    mods = module.modalities
    batch, length = mask.shape
    d = module.dim
    out = torch.zeros(batch, length, module.out_dim)
    for b in range(batch):
        n_valid = int(mask[b].sum())
        xi = {}
        for m in mods:
            x = feats[m][b, :n_valid]
            if m in module.proj:
                x = x @ module.proj[m].weight.T + module.proj[m].bias
            xi[m] = torch.cat([x, torch.ones(n_valid, 1)], dim=1)
        pieces = []
        for target in mods:
            q_layer = module.query[target]
            if module.query_type == "lowrank":
                w = q_layer.U @ q_layer.V.T  # (d+1, d+1) acting on rows
                bias = q_layer.bias
            else:
                w = q_layer.weight.T
                bias = q_layer.bias
            if module.sources == "all":
                srcs = list(mods)
            elif module.sources == "intra":
                srcs = [target]
            else:
                srcs = [m for m in mods if m != target]
            if module.scale == "dim":
                s = 1 / math.sqrt(d + 1)
            elif module.scale == "length":
                s = 1 / math.sqrt(n_valid)
            elif module.scale == "none":
                s = 1.0
            else:
                s = float(module.scale)
            rows = []
            for t in range(n_valid):
                q = xi[target][t] @ w + bias
                acc = torch.zeros(d + 1)
                for src in srcs:
                    keys = []
                    for k in range(n_valid):
                        if module.context == "causal" and k > t:
                            continue
                        if isinstance(module.context, int) and abs(k - t) > module.context:
                            continue
                        keys.append(k)
                    scores = torch.stack([q @ xi[src][k] * s for k in keys])
                    if module.score_activation == "tanh":
                        scores = torch.tanh(scores)
                    alpha = torch.softmax(scores, dim=0)
                    acc = acc + sum(a * xi[src][k] for a, k in zip(alpha, keys))
                if module.aggregate == "mean":
                    acc = acc / len(srcs)
                res = F.gelu(xi[target][t]) if module.residual == "gelu" else xi[target][t]
                e = F.gelu(acc) + res if module.output == "gelu" else acc + res
                if module.output in ("norm_relu", "norm"):
                    norm = module.norm[target]
                    e = F.layer_norm(e, (d + 1,), norm.weight, norm.bias)
                o = e @ module.out[target].weight.T + module.out[target].bias
                rows.append(torch.relu(o) if module.output == "norm_relu" else o)
            pieces.append(torch.stack(rows) if rows else torch.zeros(0, module.d_out))
        fused = torch.cat(pieces, dim=1) if module.combine == "concat" else sum(pieces)
        out[b, :n_valid] = fused
    return out


OPTIONS = list(
    itertools.product(
        ["lowrank", "full"],
        ["all", "inter", "intra"],
        ["dim", "length", "none", 0.7],
        ["full", "causal", 1],
        ["identity", "gelu"],
        ["sum", "mean"],
        ["sum", "concat"],
    )
)


@pytest.mark.parametrize(
    "query,sources,scale,context,residual,aggregate,combine",
    OPTIONS,
    ids=["-".join(map(str, o)) for o in OPTIONS],
)
def test_equals_row_by_row_algorithm(query, sources, scale, context, residual, aggregate, combine):
    torch.manual_seed(1)
    module = LMAM(
        MODS,
        4,
        rank=3,
        query=query,
        sources=sources,
        scale=scale,
        context=context,
        residual=residual,
        aggregate=aggregate,
        combine=combine,
    ).eval()
    feats, mask = make_inputs()
    with torch.no_grad():
        got = module(feats, mask)
        want = reference(module, feats, mask)
        rowwise = lmam_rowwise(module, feats, mask)
    assert got.shape == (3, 5, module.out_dim)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rowwise, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("query", ["lowrank", "full"])
@pytest.mark.parametrize("activation", ["tanh", "none"])
@pytest.mark.parametrize("output", ["norm_relu", "norm", "linear", "gelu"])
def test_output_blocks_and_score_activations_equal_the_algorithm(query, activation, output):
    """The formulation options of the design study: each against the plain loops above."""
    torch.manual_seed(3)
    module = LMAM(MODS, 4, rank=3, query=query, activation=activation, output=output).eval()
    feats, mask = make_inputs()
    with torch.no_grad():
        got = module(feats, mask)
        want = reference(module, feats, mask)
        rowwise = lmam_rowwise(module, feats, mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rowwise, want, atol=1e-5, rtol=1e-5)
    # the blocks without a LayerNorm have none (no unused parameters under DDP)
    assert bool(len(module.norm)) == output.startswith("norm")
    with pytest.raises(ValueError, match="output"):
        LMAM(MODS, 4, output="relu")
    with pytest.raises(ValueError, match="activation"):
        LMAM(MODS, 4, activation="sigmoid")


@pytest.mark.parametrize("query", ["lowrank", "full"])
def test_unequal_widths_are_projected(query):
    dims = {"text": 5, "audio": 3, "visual": 7}
    torch.manual_seed(2)
    module = LMAM(dims, 4, rank=2, query=query).eval()
    assert module.dim == 3 and set(module.proj) == {"text", "visual"}  # default: the narrowest
    feats, mask = make_inputs(dims=dims)
    with torch.no_grad():
        torch.testing.assert_close(
            module(feats, mask), reference(module, feats, mask), atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize("modalities", [("text",), ("text", "audio"), ("text", "audio", "visual")])
def test_any_subset_of_modalities(modalities):
    dims = {m: MODS[m] for m in modalities}
    module = LMAM(dims, 4, rank=2).eval()
    feats, mask = make_inputs(dims=dims)
    with torch.no_grad():
        torch.testing.assert_close(
            module(feats, mask), reference(module, feats, mask), atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize("context", ["full", "causal", 2])
@pytest.mark.parametrize("scale", ["dim", "length"])
def test_padding_invariance(context, scale):
    torch.manual_seed(3)
    module = LMAM(MODS, 4, rank=3, context=context, scale=scale).eval()
    feats, mask = make_inputs()
    extra = 4
    padded = {
        m: torch.cat([x, 100 * torch.randn(3, extra, x.shape[2])], dim=1) for m, x in feats.items()
    }
    # garbage, even non-finite values, in padded positions must not matter
    padded["audio"][:, -1] = float("nan")
    padded["text"][1, 4] = float("inf")
    padded_mask = torch.cat([mask, torch.zeros(3, extra)], dim=1)
    with torch.no_grad():
        base = module(feats, mask)
        more = module(padded, padded_mask)
    torch.testing.assert_close(more[:, :5], base, atol=1e-6, rtol=1e-6)
    assert torch.all(more[padded_mask == 0] == 0)
    assert torch.all(base[mask == 0] == 0)


@pytest.mark.parametrize("inputs_need_grad", [False, True])
@pytest.mark.parametrize("fusion", ["lmam", "self_attention"])
def test_nan_padding_leaks_into_no_output_and_no_gradient(fusion, inputs_need_grad):
    """Both ways of writing the inputs into xi (in place when no gradient is
    needed, through autograd otherwise), with one modality projected."""
    dims = {"text": 6, "audio": 4, "visual": 6}
    torch.manual_seed(5)
    module = create_fusion(fusion, in_dims=dims, out_dim=4)
    feats, mask = make_inputs(dims=dims)
    dirty = {m: x.masked_fill(mask.unsqueeze(-1) == 0, float("nan")) for m, x in feats.items()}
    dirty["text"][1, 4] = float("inf")
    for x in dirty.values():
        x.requires_grad_(inputs_need_grad)
    out = module(dirty, mask)
    torch.testing.assert_close(out, module(feats, mask))
    (out**2).sum().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    if inputs_need_grad:
        for x in dirty.values():
            assert torch.isfinite(x.grad).all()
            assert torch.all(x.grad[mask == 0] == 0)


@pytest.mark.parametrize("query", ["lowrank", "full"])
@pytest.mark.parametrize("sources", ["all", "inter", "intra"])
def test_every_parameter_gets_a_gradient_and_no_nan_with_empty_rows(query, sources):
    dims = {"text": 6, "audio": 4, "visual": 6}
    torch.manual_seed(0)
    # 16 output units: with 4, all ReLUs of one modality are dead for some seeds
    module = LMAM(dims, 16, rank=3, query=query, sources=sources, dropout=0.1)
    feats, mask = make_inputs(dims=dims, lengths=(5, 2, 0))  # dialogue 3 fully padded
    for x in feats.values():
        x.requires_grad_(True)
    out = module(feats, mask)
    assert torch.isfinite(out).all()
    (out**2).sum().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    for x in feats.values():
        assert torch.isfinite(x.grad).all()
        assert torch.all(x.grad[2] == 0)


def design_note_count(d, r, k, d_out, proj=0):
    per_modality = 2 * (d + 1) * r + (d + 1) + 2 * (d + 1) + (d + 1) * d_out + d_out
    return k * per_modality + proj


@pytest.mark.parametrize("d,r,k,d_out", [(512, 45, 3, 256), (100, 10, 2, 32), (16, 4, 1, 8)])
def test_parameter_count_matches_design_note(d, r, k, d_out):
    dims = {f"m{i}": d for i in range(k)}
    module = LMAM(dims, d_out, rank=r)
    assert sum(p.numel() for p in module.parameters()) == design_note_count(d, r, k, d_out)


def test_parameter_count_with_input_projections():
    module = LMAM({"text": 100, "audio": 73, "visual": 512}, 64, rank=8, dim=512)
    proj = (100 * 512 + 512) + (73 * 512 + 512)
    assert sum(p.numel() for p in module.parameters()) == design_note_count(512, 8, 3, 64, proj)
    narrow = LMAM({"text": 100, "audio": 73, "visual": 512}, 64, rank=8)  # default dim: 73
    proj = (100 * 73 + 73) + (512 * 73 + 73)
    assert sum(p.numel() for p in narrow.parameters()) == design_note_count(73, 8, 3, 64, proj)


def test_full_query_has_one_third_of_self_attention_weights():
    dims = {"text": 32, "audio": 32, "visual": 32}
    full = LMAM(dims, 16, query="full")
    sa = create_fusion("self_attention", in_dims=dims, out_dim=16)
    full_att = sum(p.numel() for p in full.query.parameters())
    sa_att = sum(p.numel() for layers in (sa.wq, sa.wk, sa.wv) for p in layers.parameters())
    assert 3 * full_att == sa_att
    shared = sum(p.numel() for n, p in full.named_parameters() if not n.startswith("query."))
    assert sum(p.numel() for p in sa.parameters()) - sa_att == shared


@pytest.mark.parametrize("sources", ["all", "inter", "intra"])
def test_lowrank_equals_full_with_the_product_weight(sources):
    torch.manual_seed(4)
    low = LMAM(MODS, 4, rank=3, query="lowrank", sources=sources).eval()
    full = LMAM(MODS, 4, query="full", sources=sources).eval()
    state = {k: v for k, v in low.state_dict().items() if not k.startswith("query.")}
    full.load_state_dict({**full.state_dict(), **state})
    with torch.no_grad():
        for m in MODS:
            full.query[m].weight.copy_(low.query[m].weight().T)
            full.query[m].bias.copy_(low.query[m].bias)
    feats, mask = make_inputs()
    with torch.no_grad():
        torch.testing.assert_close(low(feats, mask), full(feats, mask), atol=1e-5, rtol=1e-5)


def test_output_width_and_options_are_checked():
    assert LMAM(MODS, 4, combine="concat").out_dim == 12
    for bad in [
        dict(query="dense"),
        dict(sources="both"),
        dict(context="future"),
        dict(context=-1),
        dict(scale="huge"),
        dict(residual="relu"),
        dict(combine="max"),
        dict(aggregate="max"),
        dict(rank=0),
    ]:
        with pytest.raises(ValueError):
            LMAM(MODS, 4, **bad)
    with pytest.raises(ValueError, match="inter"):
        LMAM({"text": 4}, 4, sources="inter")


class CountCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def torch_calls(fn, length):
    module = LMAM(MODS, 4, rank=3).eval()
    feats, mask = make_inputs(batch=2, length=length, lengths=(length, length))
    with torch.no_grad(), CountCalls() as counter:
        fn(module, feats, mask)
    return counter.count


def test_no_python_loop_over_utterances_in_forward():
    """The batched forward makes as many torch calls for 32 utterances as for 4 ..."""
    assert torch_calls(lambda m, f, k: m(f, k), 4) == torch_calls(lambda m, f, k: m(f, k), 32)
    # ... while the row-by-row definition makes more (so this check can fail).
    assert torch_calls(lmam_rowwise, 32) > torch_calls(lmam_rowwise, 4)
