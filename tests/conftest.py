"""Test-wide settings: one torch thread (the suite's tensors are tiny; on a
2-core machine, thread start-up and barriers cost more than they save)."""

import torch

torch.set_num_threads(1)
