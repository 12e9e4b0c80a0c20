"""Fusions behind one contract and one registry.

``forward(feats: dict[str, Tensor (B, T, D_m)], mask: Tensor (B, T)) -> Tensor (B, T, out_dim)``
"""

from lmam.fusion import lmam as _lmam  # noqa: F401  (registers "lmam")
from lmam.fusion.registry import create_fusion, list_fusions, register_fusion
from lmam.fusion.self_attention import SelfAttentionFusion
from lmam.fusion.simple import AddFusion, ConcatFusion
from lmam.nn.base import FusionModule as Fusion

__all__ = [
    "AddFusion",
    "ConcatFusion",
    "Fusion",
    "SelfAttentionFusion",
    "create_fusion",
    "list_fusions",
    "register_fusion",
]
