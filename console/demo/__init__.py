"""Demo data: the small demo a newcomer starts with (`seed`), and a large deterministic data set for
benchmarks (`seed_large`, `simvado-console seed-demo --events N`)."""

from console.demo.large import seed_large, settle
from console.demo.seed import DemoResult, has_data, seed

__all__ = ["DemoResult", "has_data", "seed", "seed_large", "settle"]
