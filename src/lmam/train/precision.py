"""Reduced precision and compilation for training and prediction (``--precision``, ``--compile``).

``32`` runs everything in float32. ``bf16`` and ``fp16`` run the forward pass and the
loss under :func:`torch.autocast` (matrix products in the reduced type, reductions
and the loss in float32; the weights and the optimiser stay float32). ``fp16``'s
narrow range needs a gradient scaler: the loss is scaled up before the backward
pass and the gradients scaled down before the step, and a step whose gradients
overflowed is skipped while the scale shrinks (:class:`torch.amp.GradScaler`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from lmam.errors import OptionError

PRECISIONS = ("32", "bf16", "fp16")
"""``--precision``: float32, or autocast to bfloat16 or float16."""
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse an unknown precision, or one the device cannot run (fp16 needs a GPU)."""
    if precision not in PRECISIONS:
        raise OptionError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device.type == "cpu":
        raise OptionError(
            "precision fp16 needs a GPU (--device cuda); on the CPU use --precision bf16 or 32"
        )


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Autocast to ``precision`` on ``device`` (nothing for ``32``)."""
    if precision == "32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=DTYPES[precision]):
        yield


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """A gradient scaler for ``fp16`` (``None`` otherwise)."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(device.type)


def compiled(model: torch.nn.Module, enabled: bool) -> torch.nn.Module:
    """``model`` compiled by :func:`torch.compile` (dynamic shapes: dialogue lengths vary
    from batch to batch), or itself. The compiled module shares the model's weights."""
    if not enabled:
        return model
    return torch.compile(model, dynamic=True)  # type: ignore[return-value]
