"""Humour detection: C-MFN and C-MFN* (with LMAM) on UR-FUNNY.

- :mod:`.data`: the published pickles, read safely.
- :mod:`.model`: :class:`CMFN` (variants full / punchline / context; ``lmam=True``).
- :mod:`.table14`: the paper's Table XIV over five modality sets.
- :mod:`.synthetic`: a tiny look-alike in the published structure.
"""

from lmam.tasks.humour.data import HumourData, HumourSample, load_urfunny
from lmam.tasks.humour.model import CMFN

__all__ = ["CMFN", "HumourData", "HumourSample", "load_urfunny"]
