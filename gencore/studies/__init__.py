"""Many runs: the seed study in this process, sweeps through the notebooks (locally or on a Dask
cluster), the one table both write (``results.py``), and the benchmark."""
