"""Torch-only building blocks: masks, matching attention, low-rank maps, LMAM."""

from lmam.nn.cross_attention import CrossModalAttention
from lmam.nn.fusion_module import FusionModule, check_inputs
from lmam.nn.lmam import LMAM
from lmam.nn.lmam_authors import AuthorsCodeLMAM
from lmam.nn.lowrank import LowRankLinear
from lmam.nn.masking import context_mask, masked_softmax
from lmam.nn.matching_attention import MatchingAttention
from lmam.nn.reference import lmam_rowwise

__all__ = [
    "LMAM",
    "AuthorsCodeLMAM",
    "CrossModalAttention",
    "FusionModule",
    "LowRankLinear",
    "MatchingAttention",
    "check_inputs",
    "context_mask",
    "lmam_rowwise",
    "masked_softmax",
]
