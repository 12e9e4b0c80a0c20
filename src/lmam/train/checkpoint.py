"""Checkpoints: safetensors weights beside a JSON description, written atomically.

A run directory holds ``best/`` (the selected epoch's model) and ``state/`` (the
last completed epoch: model, optimizer, progress) for ``--resume``. Optimizer
state is loaded with ``torch.load(weights_only=True)``, which accepts tensors
and plain containers only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lmam.outputs import atomic_write, atomic_write_json


def save_model(model: nn.Module, directory: Path, description: dict[str, Any]) -> None:
    """Write ``model.safetensors`` and ``model.json`` (description) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write(directory / "model.safetensors", lambda tmp: save_file(state, tmp))
    atomic_write_json(directory / "model.json", description)


RENAMED = ((".wq.", ".query."), (".wk.", ".key."), (".wv.", ".value."))
"""Parameter names of checkpoints written before M2FNet's and EmoCaps' attention became
:class:`~lmam.nn.attention.MaskedMultiheadAttention` (old part, new part)."""


def upgrade_keys(state: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """``state`` with the old parameter names of :data:`RENAMED` renamed, where the
    model (whose names are ``expected``) has the new name and not the old one."""
    out = {}
    for key, value in state.items():
        new = key
        for old, part in RENAMED:
            new = new.replace(old, part)
        out[new if key not in expected and new in expected else key] = value
    return out


def load_weights(model: nn.Module, directory: Path) -> None:
    """Load ``model.safetensors`` of ``directory`` into ``model`` (checkpoints of
    earlier versions too: :func:`upgrade_keys`)."""
    path = directory / "model.safetensors"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no checkpoint here")
    state = upgrade_keys(load_file(str(path)), set(model.state_dict()))
    model.load_state_dict(state)


def load_description(directory: Path) -> dict[str, Any]:
    with open(directory / "model.json") as f:
        data: dict[str, Any] = json.load(f)
    return data


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(optimizer.state_dict(), tmp))


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    optimizer.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
