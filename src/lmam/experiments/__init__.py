"""Experiments: grids over seeds, the demo, and the paper's tables."""
