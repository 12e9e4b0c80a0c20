"""Reproduce the LMAM paper's tables and Fig. 5 on the data lmam has (``lmam reproduce``).

- :mod:`.variants`: the runs the tables are made of, named once so tables share them.
- :mod:`.setting`: one dataset of one table (its seeds, folders and base configuration).
- :mod:`.plug`: Tables II-IV, VI and VII-VIII (every backbone with and without LMAM).
- :mod:`.ablations`: Tables V, IX, X, XI, XII and Fig. 5.
- :mod:`.tables`: :data:`.tables.TABLES`, what ``lmam reproduce TABLE`` runs.
- :mod:`.cells`: table cells from runs (mean ± std over seeds) and the paper's.
- :mod:`.published`: the paper's numbers, looked up per row.
- :mod:`.report`: Markdown, JSON and the results index.
"""
