"""Benchmarks behind `o2o-edge bench ...`; each prints one JSON object."""
