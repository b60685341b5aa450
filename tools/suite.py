"""Runs the named modules of a tools package (`python -m tools.bench`, `python -m tools.load`).

A runnable module has a run() function; the others in the package are its parts.
"""

import importlib
import pkgutil
from types import ModuleType


def run_modules(package: ModuleType, names: list[str], kind: str) -> int:
    modules = {
        info.name: importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name != "__main__"
    }
    available = sorted(name for name, module in modules.items() if hasattr(module, "run"))
    unknown = set(names) - set(available)
    if unknown:
        print(f"unknown {kind}(s): {', '.join(sorted(unknown))}; have {', '.join(available)}")
        return 2
    for name in names or available:
        print(f"== {name}", flush=True)
        modules[name].run()
    return 0
