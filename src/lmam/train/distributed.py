"""Multi-process (and multi-node) training through torchrun and PyTorch DDP.

``torchrun`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`setup`
then opens the process group (gloo on CPU, nccl on GPU). Every rank draws the
same shuffled global batch and takes every ``world``-th dialogue of it, so a
run on N processes sees the same global batches as a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owner: bool = False  # whether setup() opened the process group (and teardown closes it)

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: torch.device) -> DistInfo:
    """Open the process group when launched by torchrun (else a single process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    owner = not dist.is_initialized()
    if owner:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(
        dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), owner
    )


def teardown(info: DistInfo) -> None:
    """Close the process group if :func:`setup` opened it (a caller's group stays open).

    Every rank waits for the others first, so that none tears the group down
    while another still uses it (rank 0 writes the run's files after the last
    epoch). The occasional abort at exit ("terminate called without an active
    exception") came from the DDP wrapper outliving the group; the trainer
    frees it before calling this."""
    if info.active and info.owner and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def shard(items: list[Any], info: DistInfo) -> list[Any]:
    """This rank's share of ``items`` (every ``world``-th, from ``rank``)."""
    return items[info.rank :: info.world]


def gather(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj``, in rank order (on every rank)."""
    if not info.active:
        return [obj]
    out: list[Any] = [None] * info.world
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
