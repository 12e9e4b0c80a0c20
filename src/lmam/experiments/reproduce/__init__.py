"""Reproduce the LMAM paper's tables and Fig. 5 on the data lmam has (``lmam reproduce``).

- :mod:`.variants`: the runs the tables are made of, named once so tables share them.
- :mod:`.setting`: one dataset of one table (its seeds, folders and base configuration).
- :mod:`.tables`: one function per table, and :data:`.tables.TABLES`.
- :mod:`.published`: the paper's numbers, looked up per row.
- :mod:`.report`: Markdown and JSON.
"""
