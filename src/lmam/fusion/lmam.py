"""Registers :class:`lmam.nn.LMAM` as the fusion ``"lmam"``, and the option set
of the authors' public code, :class:`lmam.nn.AuthorsCodeLMAM`, as
``"lmam_authors_code"``."""

from __future__ import annotations

from lmam.fusion.registry import register_fusion
from lmam.nn.lmam import LMAM
from lmam.nn.lmam_authors import AuthorsCodeLMAM

register_fusion("lmam")(LMAM)
register_fusion("lmam_authors_code")(AuthorsCodeLMAM)
