"""Benchmark harnesses (``make bench``); their recorded results live in ``bench/results``."""
