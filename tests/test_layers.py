"""The module graph the README draws is the code's: every module of the package is in it,
and each imports only modules to its right on its line or on lines further down; and the
package never imports the tests or the benchmarks."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

PACKAGE = ROOT / "flows"


def drawn_order() -> list[str]:
    """The modules of the README's "How it works" block, top to bottom, left to right."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1]
    lines = section.split("```", 2)[1].strip().splitlines()
    # Each line: the modules, comma-separated, then (after two spaces or more) what they do.
    return [name for line in lines for name in re.split(r"\s{2,}", line)[0].split(", ")]


def module_name(name: str) -> str:
    return name.removesuffix(".py").removesuffix("/")


def imports(path) -> list[str]:
    """Every module a file imports, by absolute name ("flows.classify.rules", "tests", "re"),
    relative imports included; `from m import x` gives m and m.x (x may be a module)."""
    found = []
    package = ("flows", *path.relative_to(PACKAGE).parent.parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join((*base, *([node.module] if node.module else [])))
            found += [module, *(f"{module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def imported_modules(path) -> set[str]:
    """The package's modules a file imports (its top-level name: classify for classify.rules)."""
    return {name.split(".")[1] for name in imports(path) if name.startswith("flows.")}


def package_modules() -> dict[str, list]:
    """Each top-level module of the package and its files (a subpackage has several)."""
    modules: dict[str, list] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts in (("__init__",), ("__main__",)):
            continue
        modules.setdefault(parts[0], []).append(path)
    return modules


def test_the_readme_draws_every_module_of_the_package():
    drawn = [module_name(name) for name in drawn_order()]
    assert len(drawn) == len(set(drawn)), "a module drawn twice"
    assert sorted(drawn) == sorted(package_modules())


def test_each_module_imports_only_modules_drawn_after_it():
    order = {module_name(name): i for i, name in enumerate(drawn_order())}
    wrong = [
        f"{module} imports {other}"
        for module, paths in package_modules().items()
        for path in paths
        for other in imported_modules(path) - {module}
        if order[other] <= order[module]
    ]
    assert not wrong


def test_the_package_never_imports_the_tests_or_the_benchmarks():
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for paths in package_modules().values()
        for path in paths
        for name in imports(path)
        if name.split(".")[0] in ("tests", "benchmarks")
    ]
    assert not wrong
