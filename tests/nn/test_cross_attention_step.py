"""A causal attention fusion steps one utterance at a time with a carried cache, and
each step equals the fusion run over the dialogue so far, at its last utterance."""

from __future__ import annotations

import pytest
import torch

from lmam.fusion import create_fusion, list_fusions
from lmam.nn.cross_attention import CrossModalAttention, StepCache

IN_DIMS = {"text": 12, "audio": 7, "visual": 5}

VARIANTS = [
    {},
    {"query": "full"},
    {"sources": "inter", "aggregate": "mean"},
    {"scale": "length", "activation": "none"},
    {"output": "gelu", "residual": "gelu"},
    {"combine": "concat", "sources": "intra", "output": "linear"},
    {"scale": 0.5, "output": "norm", "dim": 9},
]


def _causal(name: str, **options: object) -> CrossModalAttention | None:
    """The fusion ``name`` with a causal context, or ``None`` when it takes no context."""
    try:
        fusion = create_fusion(name, in_dims=IN_DIMS, out_dim=6, context="causal", **options)
    except Exception:
        return None
    return fusion if isinstance(fusion, CrossModalAttention) else None


def _check_steps(fusion: CrossModalAttention, t: int = 9, batch: int = 2) -> None:
    torch.manual_seed(1)
    fusion.eval()
    feats = {m: torch.randn(batch, t, d) for m, d in IN_DIMS.items()}
    cache = StepCache()
    for k in range(1, t + 1):
        row = fusion.step({m: x[:, k - 1 : k] for m, x in feats.items()}, cache)
        prefix = {m: x[:, :k] for m, x in feats.items()}
        whole = fusion(prefix, torch.ones(batch, k, dtype=torch.bool))[:, -1]
        assert row.shape == (batch, fusion.out_dim)
        torch.testing.assert_close(row, whole, atol=1e-5, rtol=1e-5)
    assert cache.values is not None and cache.values.shape[2] == t


def test_the_attention_fusions_that_can_step_are_lmam_and_self_attention() -> None:
    stepping = [n for n in list_fusions() if (f := _causal(n)) is not None and f.can_step]
    assert {"lmam", "self_attention"} <= set(stepping)


@pytest.mark.parametrize("name", [n for n in list_fusions() if n in ("lmam", "self_attention")])
@pytest.mark.parametrize(
    "options", VARIANTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default"
)
def test_every_step_equals_the_fusion_over_the_dialogue_so_far(
    name: str, options: dict[str, object]
) -> None:
    if name == "self_attention":
        options = {k: v for k, v in options.items() if k not in ("query", "activation")}
    fusion = _causal(name, **options)
    assert fusion is not None and fusion.can_step
    _check_steps(fusion)


def test_a_fusion_that_reads_later_utterances_cannot_step() -> None:
    fusion = create_fusion("lmam", in_dims=IN_DIMS, out_dim=6)  # context="full"
    assert not fusion.can_step
    with pytest.raises(ValueError, match="causal"):
        fusion.step({m: torch.randn(1, 1, d) for m, d in IN_DIMS.items()}, StepCache())
