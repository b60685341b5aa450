"""`python -m tools.bench [NAME ...]`: run the named benchmarks, or all of them."""

import importlib
import pkgutil
import sys

import tools.bench


def main(names: list[str]) -> int:
    available = sorted(m.name for m in pkgutil.iter_modules(tools.bench.__path__))
    unknown = set(names) - set(available)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {', '.join(available)}")
        return 2
    for name in names or available:
        print(f"== {name}", flush=True)
        importlib.import_module(f"tools.bench.{name}").run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
