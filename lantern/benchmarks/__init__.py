"""Benchmarks: figures go to ``bench/results``, each beside the raw layers in the same run."""
