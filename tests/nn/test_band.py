"""A window ``context=w`` attended as a band (chunks of queries against the keys around
them) equals the masked ``T x T`` attention and LMAM's row-by-row definition: outputs
and gradients, for LMAM and self-attention, padded or in length groups."""

from __future__ import annotations

import copy

import pytest
import torch

from lmam.fusion import create_fusion
from lmam.nn.cross_attention import band_chunk
from lmam.nn.reference import lmam_rowwise

IN_DIMS = {"text": 12, "audio": 7, "visual": 5}
LENGTHS = [130, 97, 4, 121]  # long enough for a band at w = 1 and 2


def _batch(holes: bool) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    t = max(LENGTHS)
    mask = torch.arange(t)[None, :] < torch.tensor(LENGTHS)[:, None]
    if holes:  # padding inside a dialogue too
        mask[0, 40:47] = False
        mask[3, 0] = False
    feats = {m: torch.randn(len(LENGTHS), t, d, generator=g) for m, d in IN_DIMS.items()}
    for x in feats.values():
        x[~mask] = float("nan")  # padding is never read
    return feats, mask


def _grads(module, feats, mask):
    inputs = {m: x.clone().requires_grad_() for m, x in feats.items()}
    out = module(inputs, mask)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (out * weights).sum().backward()
    return out, {m: x.grad[mask] for m, x in inputs.items()}


@pytest.mark.parametrize("name", ["lmam", "self_attention"])
@pytest.mark.parametrize(
    "options",
    [{"context": 1}, {"context": 2, "scale": "length", "output": "gelu"},
     {"context": 2, "sources": "inter", "aggregate": "mean", "combine": "concat"},
     {"context": 1, "sources": "intra", "residual": "gelu", "output": "linear"}],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)  # fmt: skip
@pytest.mark.parametrize("holes", [False, True])
@pytest.mark.parametrize("group_lengths", [False, True], ids=["padded", "groups"])
def test_band_equals_the_masked_scores(name, options, holes, group_lengths) -> None:
    torch.manual_seed(0)
    band = create_fusion(name, in_dims=IN_DIMS, out_dim=6, **options).train()
    band.group_lengths = group_lengths
    masked = copy.deepcopy(band)
    masked.band_windows = False
    feats, mask = _batch(holes)
    assert band.banded(mask.shape[1]) and not masked.banded(mask.shape[1])
    out_b, grads_b = _grads(band, feats, mask)
    out_m, grads_m = _grads(masked, feats, mask)
    assert torch.isfinite(out_b).all()
    torch.testing.assert_close(out_b, out_m, atol=1e-5, rtol=1e-5)
    for m in IN_DIMS:
        torch.testing.assert_close(grads_b[m], grads_m[m], atol=1e-5, rtol=1e-4)
    for (key, p), q in zip(band.named_parameters(), masked.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=key)


@pytest.mark.parametrize("query", ["lowrank", "full"])
def test_banded_lmam_equals_its_row_by_row_definition(query) -> None:
    torch.manual_seed(0)
    fusion = create_fusion("lmam", in_dims=IN_DIMS, out_dim=6, rank=4, query=query, context=2)
    fusion.group_lengths = False
    feats, mask = _batch(holes=True)
    feats = {m: x.nan_to_num() for m, x in feats.items()}  # the reference reads padding
    assert fusion.banded(mask.shape[1])
    with torch.no_grad():
        torch.testing.assert_close(
            fusion(feats, mask), lmam_rowwise(fusion, feats, mask), atol=1e-5, rtol=1e-5
        )


def test_the_band_is_chosen_only_where_it_paid() -> None:
    def banded(context, length, **options):
        fusion = create_fusion("lmam", in_dims=IN_DIMS, out_dim=6, context=context, **options)
        return fusion.banded(length)

    for w in (0, 1, 2, 8, 16):
        span = band_chunk(w) + 2 * w
        assert band_chunk(w) >= 2 * w + 1
        assert banded(w, 5 * span) and not banded(w, 5 * span - 1)
    assert not banded("full", 1000) and not banded("causal", 1000)
    fusion = create_fusion("lmam", in_dims=IN_DIMS, out_dim=6, context=1)
    fusion.band_windows = False
    assert not fusion.banded(1000)
