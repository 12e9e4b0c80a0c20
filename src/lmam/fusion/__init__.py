"""Fusions behind one contract and one registry.

``forward(feats: dict[str, Tensor (B, T, D_m)], mask: Tensor (B, T)) -> Tensor (B, T, out_dim)``
"""

from lmam.fusion import lmam as _lmam  # noqa: F401  (registers "lmam")
from lmam.fusion.att_lmf import AttLMFFusion
from lmam.fusion.auxformer import AuxFormerFusion
from lmam.fusion.cmcf_srnet import CMCFSRNetFusion
from lmam.fusion.dual_lmf import DualLMFFusion
from lmam.fusion.lmf import LMFFusion
from lmam.fusion.lmf_mult import LMFMulTFusion
from lmam.fusion.lora import LoRAFusion
from lmam.fusion.mmmu_ba import MMMUBAFusion
from lmam.fusion.mult import MulTFusion
from lmam.fusion.registry import create_fusion, list_fusions, register_fusion
from lmam.fusion.self_attention import SelfAttentionFusion
from lmam.fusion.simple import AddFusion, ConcatFusion
from lmam.fusion.tfn import TensorFusion
from lmam.nn.fusion_module import FusionModule as Fusion

__all__ = [
    "AddFusion",
    "AttLMFFusion",
    "AuxFormerFusion",
    "CMCFSRNetFusion",
    "ConcatFusion",
    "DualLMFFusion",
    "Fusion",
    "LMFFusion",
    "LMFMulTFusion",
    "LoRAFusion",
    "MMMUBAFusion",
    "MulTFusion",
    "SelfAttentionFusion",
    "TensorFusion",
    "create_fusion",
    "list_fusions",
    "register_fusion",
]
