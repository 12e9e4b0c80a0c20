"""Registers :class:`lmam.nn.LMAM` as the fusion ``"lmam"``."""

from __future__ import annotations

from lmam.fusion.registry import register_fusion
from lmam.nn.lmam import LMAM

register_fusion("lmam")(LMAM)
