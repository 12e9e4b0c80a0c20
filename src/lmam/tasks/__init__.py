"""Tasks beyond conversations that reuse the fusion registry (the paper's Section V-I).

- :mod:`lmam.tasks.session`: session recommendation, DHCN and DHCN* on Diginetica.
- :mod:`lmam.tasks.humour`: humour detection, C-MFN and C-MFN* on UR-FUNNY.
"""
