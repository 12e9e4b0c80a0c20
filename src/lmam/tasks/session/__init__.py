"""Session recommendation: DHCN and DHCN* (with LMAM) on Diginetica.

- :mod:`.data`: the published pickles, prefix expansion, validation split.
- :mod:`.graph`: the sparse item hypergraph and the batch line graph.
- :mod:`.model`: :class:`DHCN` (``lmam=True``: DHCN*).
- :mod:`.metrics`: P@K and MRR@K.
- :mod:`.train`: resumable training with validation-based selection.
"""

from lmam.tasks.session.data import SessionData, expand, load_sessions
from lmam.tasks.session.graph import Hypergraph, line_graph
from lmam.tasks.session.metrics import RankingMeter
from lmam.tasks.session.model import DHCN

__all__ = [
    "DHCN",
    "Hypergraph",
    "RankingMeter",
    "SessionData",
    "expand",
    "line_graph",
    "load_sessions",
]
