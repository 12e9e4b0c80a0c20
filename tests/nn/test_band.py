"""A window ``context=w`` attended as a band (chunks of queries against the keys around
them) equals the masked ``T x T`` attention and LMAM's row-by-row definition: outputs
and gradients, for LMAM and self-attention, padded or in length groups."""

from __future__ import annotations

import copy

import pytest
import torch

from lmam.fusion import create_fusion
from lmam.nn.cross_attention import CrossModalAttention, band_chunk
from lmam.nn.masking import length_groups
from lmam.nn.reference import lmam_rowwise

IN_DIMS = {"text": 12, "audio": 7, "visual": 5}
LENGTHS = [130, 97, 4, 121]  # long enough for a band at w = 0, 1 and 2
LONG = [180, 9, 171]  # and at w = 8 (chunks of 2 w + 1 = 17)


def _batch(
    holes: bool, lengths: list[int] = LENGTHS
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    t = max(lengths)
    mask = torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]
    if holes:  # padding inside a dialogue too
        mask[0, 40:47] = False
        mask[-1, 0] = False
    feats = {m: torch.randn(len(lengths), t, d, generator=g) for m, d in IN_DIMS.items()}
    for x in feats.values():
        x[~mask] = float("nan")  # padding is never read
    return feats, mask


def _grads(module, feats, mask):
    inputs = {m: x.clone().requires_grad_() for m, x in feats.items()}
    out = module(inputs, mask)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (out * weights).sum().backward()
    return out, {m: x.grad[mask] for m, x in inputs.items()}


def _counting(monkeypatch) -> list[int]:
    """Count the calls of the band path (each one's padded length)."""
    calls: list[int] = []
    band = CrossModalAttention._attend_band

    def counted(self, xi, keep, residual):
        calls.append(xi.shape[2])
        return band(self, xi, keep, residual)

    monkeypatch.setattr(CrossModalAttention, "_attend_band", counted)
    return calls


COMMON = [
    {"context": 1},
    {"context": 2, "scale": "length", "output": "gelu"},
    {"context": 2, "sources": "inter", "aggregate": "mean", "combine": "concat"},
    {"context": 0, "sources": "intra", "residual": "gelu", "output": "linear"},
    {"context": 8, "scale": "none", "output": "norm"},
]
LMAM_ONLY = [
    {"context": 1, "activation": "none", "scale": 0.3},
    {"context": 2, "query": "full", "sources": "inter"},
]


@pytest.mark.parametrize(
    "name, options",
    [(n, o) for n in ("lmam", "self_attention") for o in COMMON] + [("lmam", o) for o in LMAM_ONLY],
    ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()),
)
@pytest.mark.parametrize("holes", [False, True])
@pytest.mark.parametrize("group_lengths", [False, True], ids=["padded", "groups"])
def test_band_equals_the_masked_scores(name, options, holes, group_lengths, monkeypatch) -> None:
    torch.manual_seed(0)
    band = create_fusion(name, in_dims=IN_DIMS, out_dim=6, **options).train()
    band.group_lengths = group_lengths
    masked = copy.deepcopy(band)
    masked.band_windows = False
    feats, mask = _batch(holes, LONG if options["context"] >= 8 else LENGTHS)
    calls = _counting(monkeypatch)
    out_b, grads_b = _grads(band, feats, mask)
    # the band ran once for the padded batch, or for every length group long enough
    extents = [mask.shape[1]] if not group_lengths else [t for _, t in length_groups(mask)]
    assert calls == [t for t in extents if band.banded(t)] and calls
    out_m, grads_m = _grads(masked, feats, mask)
    assert len(calls) == len([t for t in extents if band.banded(t)])  # not for the masked twin
    assert torch.isfinite(out_b).all()
    torch.testing.assert_close(out_b, out_m, atol=1e-5, rtol=1e-5)
    for m in IN_DIMS:
        torch.testing.assert_close(grads_b[m], grads_m[m], atol=1e-5, rtol=1e-4)
    for (key, p), q in zip(band.named_parameters(), masked.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=key)


@pytest.mark.parametrize(
    "options",
    [{"query": "lowrank", "context": 2}, {"query": "full", "context": 1},
     {"context": 0, "sources": "inter", "aggregate": "mean", "scale": "length"},
     {"context": 1, "activation": "none", "output": "gelu", "residual": "gelu"}],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)  # fmt: skip
def test_banded_lmam_equals_its_row_by_row_definition(options, monkeypatch) -> None:
    torch.manual_seed(0)
    fusion = create_fusion("lmam", in_dims=IN_DIMS, out_dim=6, rank=4, **options)
    fusion.group_lengths = False
    feats, mask = _batch(holes=True)
    feats = {m: x.nan_to_num() for m, x in feats.items()}  # the reference reads padding
    calls = _counting(monkeypatch)
    with torch.no_grad():
        torch.testing.assert_close(
            fusion(feats, mask), lmam_rowwise(fusion, feats, mask), atol=1e-5, rtol=1e-5
        )
    assert calls == [mask.shape[1]]


def test_banded_follows_its_rule_and_its_switches() -> None:
    """The band is taken where a chunk's span of keys is at most a fifth of ``T``, never
    for ``full`` or ``causal`` contexts, and not when switched off."""

    def banded(context, length, **attributes):
        fusion = create_fusion("lmam", in_dims=IN_DIMS, out_dim=6, context=context)
        for key, value in attributes.items():
            setattr(fusion, key, value)
        return fusion.banded(length)

    for w in (0, 1, 2, 8, 16):
        span = band_chunk(w) + 2 * w
        assert band_chunk(w) >= 2 * w + 1
        assert banded(w, 5 * span) and not banded(w, 5 * span - 1)
    assert band_chunk(2, 32) == 32 and not banded(2, 100, band_least_chunk=32)
    assert not banded("full", 1000) and not banded("causal", 1000)
    assert not banded(1, 1000, band_windows=False)
