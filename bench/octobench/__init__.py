"""The benchmark suite's driver (see docs/performance.md)."""
