"""Benchmarks behind `lfr bench <area> --json`: each returns a JSON-ready dict with stable keys."""
