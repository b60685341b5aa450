"""`python -m tools.load [NAME ...]`: run the named load tests, or all of them.

A load test is a module of tools/load with a run() function; the others are its parts.
"""

import importlib
import pkgutil
import sys

import tools.load


def main(names: list[str]) -> int:
    modules = {
        m.name: importlib.import_module(f"tools.load.{m.name}")
        for m in pkgutil.iter_modules(tools.load.__path__)
    }
    available = sorted(name for name, module in modules.items() if hasattr(module, "run"))
    unknown = set(names) - set(available)
    if unknown:
        print(f"unknown load test(s): {', '.join(sorted(unknown))}; have {', '.join(available)}")
        return 2
    for name in names or available:
        print(f"== {name}", flush=True)
        modules[name].run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
