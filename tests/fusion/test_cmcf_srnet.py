"""CMCF-SRNet: windowed cross-modal attention, then refinement on a temporal graph."""

from __future__ import annotations

import pytest
import torch

from lmam import create_fusion
from lmam.fusion.cmcf_srnet import RelationalGraphLayer, relation_masks
from tests.fusion.test_registry import DIMS, inputs


def test_relation_masks_type_the_temporal_window():
    past, self_, future = relation_masks(4, 1)
    torch.testing.assert_close(self_, torch.eye(4, dtype=torch.bool))
    assert past[2].tolist() == [False, True, False, False]
    assert future[2].tolist() == [False, False, False, True]
    assert not (relation_masks(6, 2).sum(0) > 1).any()  # one relation per edge


def test_an_utterance_reaches_no_further_than_the_windows_allow():
    torch.manual_seed(0)
    fusion = create_fusion(
        "cmcf_srnet", in_dims=DIMS, out_dim=4, window=1, graph_window=1, graph_layers=1
    ).eval()
    feats, mask = inputs(DIMS, length=9, lengths=(9, 9, 9))
    changed = {m: x.clone() for m, x in feats.items()}
    changed["audio"][0, 0] += torch.randn(6)
    with torch.no_grad():
        differs = (fusion(feats, mask) - fusion(changed, mask)).abs().amax(-1)[0] > 1e-6
    # cross-modal (1) + self-attention (1) + graph (1) utterances at most
    assert differs[:4].all() and not differs[4:].any()


def test_graph_refinement_ignores_padded_neighbours():
    torch.manual_seed(0)
    layer = RelationalGraphLayer(8, 3).eval()
    keep = torch.tensor([[True, True, True, False, False]])
    h = torch.randn(1, 5, 8)
    garbage = h.clone()
    garbage[0, 3:] = 1e5
    relations = relation_masks(5, 2)
    with torch.no_grad():
        out = layer(h, relations, keep)
        torch.testing.assert_close(layer(garbage, relations, keep)[0, :3], out[0, :3])


def test_window_options_are_checked():
    with pytest.raises(ValueError, match="graph_window"):
        create_fusion("cmcf_srnet", in_dims=DIMS, out_dim=4, graph_window=-1)
    with pytest.raises(ValueError, match="graph_layers"):
        create_fusion("cmcf_srnet", in_dims=DIMS, out_dim=4, graph_layers=0)
