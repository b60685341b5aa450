"""`python -m tools.load [NAME ...]`: run the named load tests, or all of them."""

import sys

import tools.load
from tools.suite import run_modules

if __name__ == "__main__":
    raise SystemExit(run_modules(tools.load, sys.argv[1:], "load test"))
