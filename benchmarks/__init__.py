"""Benchmarks: throughput against the library limit, feed scaling, clustering cost, memory (see run.py)."""
