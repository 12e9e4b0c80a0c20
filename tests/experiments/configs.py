"""A tiny training configuration the experiment tests share (seconds per run)."""

from lmam.train import TrainConfig

TINY = TrainConfig(
    dataset="synthetic",
    dataset_options={"train": 16, "valid": 4, "test": 4},
    epochs=2,
    batch_size=8,
    model_options={"hidden": 4, "dense": 4},
    threads=1,
)
