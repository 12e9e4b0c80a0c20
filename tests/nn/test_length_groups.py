"""Attention within groups of dialogues of similar length, read from and written to the
real utterances' rows, equals attention over the padded batch: outputs and gradients,
for LMAM and self-attention, any options, one group or several."""

from __future__ import annotations

import copy

import pytest
import torch

from lmam.fusion import create_fusion
from lmam.nn.masking import length_groups

IN_DIMS = {"text": 12, "audio": 7}
LENGTHS = [3, 70, 40, 12, 66, 35, 8, 50]
SHORT = [3, 20, 12, 17]  # too short to split: one group, still read from the rows


def _batch(
    holes: bool, lengths: list[int] = LENGTHS
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    t = max(lengths)
    mask = torch.zeros(len(lengths), t, dtype=torch.bool)
    for i, n in enumerate(lengths):
        mask[i, :n] = True
    if holes:  # padding inside a dialogue too, and garbage everywhere it is padded
        mask[1, 10:14] = False
        mask[min(4, len(lengths) - 1), 0] = False
    feats = {m: torch.randn(len(lengths), t, d, generator=g) for m, d in IN_DIMS.items()}
    for x in feats.values():
        x[~mask] = float("nan")
    return feats, mask


def test_length_groups_partition_the_batch_by_extent() -> None:
    _, mask = _batch(holes=True)
    groups = length_groups(mask)
    assert len(groups) > 1
    seen = torch.cat([index for index, _ in groups]).sort().values
    assert seen.tolist() == list(range(len(LENGTHS)))
    for index, t in groups:  # every dialogue's last real utterance is inside its group
        assert all(mask[i, t:].sum() == 0 and mask[i, :t].any() for i in index.tolist())
    assert len(length_groups(torch.ones(4, 40, dtype=torch.bool))) == 1  # nothing to save
    assert len(length_groups(mask[:, :20])) == 1  # too short to pay


@pytest.mark.parametrize("name", ["lmam", "self_attention"])
@pytest.mark.parametrize(
    "options",
    [{}, {"context": "causal", "scale": "length"}, {"context": 3, "output": "gelu"},
     {"sources": "inter", "combine": "concat", "aggregate": "mean"}],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default",
)  # fmt: skip
@pytest.mark.parametrize("holes", [False, True])
@pytest.mark.parametrize("lengths", [LENGTHS, SHORT], ids=["groups", "one_group"])
def test_grouped_attention_equals_the_padded_batch(name, options, holes, lengths) -> None:
    torch.manual_seed(0)
    grouped = create_fusion(name, in_dims=IN_DIMS, out_dim=9, **options).train()
    padded = copy.deepcopy(grouped)
    padded.group_lengths = False
    feats, mask = _batch(holes, lengths)
    assert (len(length_groups(mask)) > 1) == (lengths is LENGTHS)
    results = []
    for fusion in (grouped, padded):
        inputs = {m: x.clone().requires_grad_() for m, x in feats.items()}
        torch.manual_seed(1)  # the same dropout masks
        out = fusion(inputs, mask)
        per = fusion.per_modality(inputs, mask)
        (out.sum() + sum(p.sum() for p in per.values())).backward()
        grads = [p.grad.clone() for p in fusion.parameters()]
        results.append((out, per, grads, {m: x.grad for m, x in inputs.items()}))
    (a, pa, ga, ia), (b, pb, gb, ib) = results
    assert torch.isfinite(a).all()
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    for m in pa:
        torch.testing.assert_close(pa[m], pb[m], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            torch.nan_to_num(ia[m]), torch.nan_to_num(ib[m]), atol=1e-5, rtol=1e-5
        )
    for x, y in zip(ga, gb):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)
