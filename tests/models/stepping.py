"""A check shared by the backbones that step: one utterance at a time equals the whole."""

from __future__ import annotations

import torch

from lmam.models.dialoguernn import StepState


def assert_steps_equal_forward(
    model: torch.nn.Module, feats: dict[str, torch.Tensor], speakers: torch.Tensor
) -> StepState:
    """Step ``model`` through one dialogue (``feats``: ``{m: (1, T, D_m)}``, ``speakers``:
    ``(1, T)``) and compare every step with the forward pass over the whole dialogue.

    Returns:
        The state carried to the end.
    """
    t = speakers.shape[1]
    state = StepState()
    with torch.no_grad():
        whole = model(feats, torch.ones(1, t, dtype=torch.bool), speakers)[0]
        steps = [
            model.step({m: x[:, : k + 1] for m, x in feats.items()}, int(speakers[0, k]), state)[0]
            for k in range(t)
        ]
    torch.testing.assert_close(torch.stack(steps), whole, atol=1e-6, rtol=1e-5)
    return state
