"""`python -m tools.bench [NAME ...]`: run the named benchmarks, or all of them."""

import sys

import tools.bench
from tools.suite import run_modules

if __name__ == "__main__":
    raise SystemExit(run_modules(tools.bench, sys.argv[1:], "benchmark"))
