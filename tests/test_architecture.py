"""The package's shape: no import cycles, imports only downward, docs that name real things."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "speidlib"

# Lower number = lower layer. A module may import its own layer or lower ones.
LAYERS = {
    "speidlib.runtime": 0, "speidlib.schema": 0, "speidlib.io": 0, "speidlib.checks": 0, "speidlib.rundir": 0,
    "speidlib.run": 0, "speidlib.argtypes": 0, "speidlib.options": 0,
    "speidlib.data": 1,
    "speidlib.demo": 2, "speidlib.model": 2,
    "speidlib.train": 3,
    "speidlib.score": 4,
    "speidlib.evaluate": 5,
    "speidlib.interpret": 6,
    "speidlib.viz": 7,
    "speidlib.app": 8,
}
# No upward import is sanctioned: loading a run's model (which registers the custom layer,
# speidlib.model.layers) lives in speidlib.model.load, above the run directory.
ALLOWED_UPWARD: set = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    if module == "speidlib":   # the package's __init__ (it quiets TensorFlow's log): the bottom
        return 0
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py: add it")


def _imports() -> dict[str, list[tuple[str, bool]]]:
    """module -> [(imported speidlib module, imported at module top?)]."""
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    out = {}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("speidlib"):
                assert node.level == 0, f"{mod}: relative import"
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    found.append((target if target in modules else node.module, id(node) in top))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("speidlib"):
                        found.append((alias.name, id(node) in top))
        out[mod] = found
    return out


def test_no_lower_layer_imports_a_higher_one():
    bad = [(m, t) for m, imps in _imports().items() for t, _ in imps
           if _layer(t) > _layer(m) and (m, t) not in ALLOWED_UPWARD]
    assert not bad, "imports against the layering:\n" + "\n".join(f"{m} -> {t}" for m, t in bad)


def test_data_knows_no_model_and_core_never_imports_app_or_viz():
    for m, imps in _imports().items():
        for t, _ in imps:
            if m.startswith("speidlib.data"):
                assert not t.startswith(("speidlib.model", "speidlib.train", "speidlib.score")), (m, t)
            if not m.startswith(("speidlib.app", "speidlib.viz")):
                assert not t.startswith(("speidlib.app", "speidlib.viz")), (m, t)


def test_no_import_cycles_among_top_level_imports():
    graph = {m: {t for t, top in imps if top} for m, imps in _imports().items()}
    state = {}

    def visit(m, stack):
        state[m] = "open"
        for t in graph.get(m, ()):
            if state.get(t) == "open":
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_deferred_package_imports_are_only_those_that_keep_keras_out_of_light_paths():
    """Imports inside functions are allowed for the command line (the ``speidlib.app.cli``
    package, so `speid --help` and the data steps do not load TensorFlow) and for the Keras
    layer module, nowhere else."""
    deferred = [(m, t) for m, imps in _imports().items() for t, top in imps if not top]
    unexpected = [(m, t) for m, t in deferred
                  if not (m == "speidlib.app.cli" or m.startswith("speidlib.app.cli."))
                  and t != "speidlib.model.layers"]
    assert not unexpected, unexpected


def test_the_layering_test_catches_an_upward_import():
    assert _layer("speidlib.data.pairs") < _layer("speidlib.model.build")
    assert _layer("speidlib.interpret.kernels") > _layer("speidlib.score.pairs")


_DOC_NAME = re.compile(r"`(speidlib(?:\.[A-Za-z_]\w*)+)`")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        mod = ".".join(parts[:cut])
        path = ROOT / Path(*mod.split("."))
        file = path.with_suffix(".py") if not path.is_dir() else path / "__init__.py"
        if file.exists():
            tree = ast.parse(file.read_text())
            rest = parts[cut:]
            if not rest:
                return True
            names = {getattr(n, "name", None) for n in tree.body}
            names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                      if isinstance(t, ast.Name)}
            if rest[0] not in names:
                return False
            if len(rest) == 1:
                return True
            cls = next(n for n in tree.body if getattr(n, "name", None) == rest[0])
            return rest[1] in {getattr(n, "name", None) for n in getattr(cls, "body", [])}
    return False


def test_architecture_doc_names_only_things_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text()
    names = set(_DOC_NAME.findall(text))
    assert len(names) > 20, "docs/architecture.md should name the modules it describes"
    missing = sorted(n for n in names if not _resolves(n))
    assert not missing, f"docs/architecture.md names what does not exist: {missing}"
    paths = set(re.findall(r"`((?:speidlib|notebooks|dashboards|workflow|tests|benchmarks|scripts)/[\w./-]+)`", text))
    absent = sorted(p for p in paths if not (ROOT / p).exists())
    assert not absent, f"docs/architecture.md names files that do not exist: {absent}"


def test_the_doc_check_rejects_a_made_up_name():
    assert _resolves("speidlib.data.pairs.read_pairs")
    assert not _resolves("speidlib.data.pairs.read_pears")
    assert not _resolves("speidlib.nowhere")


PACKAGES = ("data", "model", "train", "score", "evaluate", "interpret", "viz", "demo")


def test_each_package_exports_its_verbs_from_its_own_modules():
    """`from speidlib.<package> import <verb>` works for every name in the package's __all__,
    the name lives in a module of that package (the layering above holds for exports too),
    and no exported name is also a module name (importing the module would shadow it)."""
    import importlib
    import pkgutil

    for p in PACKAGES:
        package = importlib.import_module(f"speidlib.{p}")
        modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
        assert package.__all__, p
        assert not set(package.__all__) & modules, p
        for name in package.__all__:
            value = getattr(package, name)
            home = getattr(value, "__module__", None) or package.__name__
            if isinstance(value, (type, type(len))) or callable(value):
                assert home.startswith(f"speidlib.{p}."), (p, name, home)


def test_importing_every_package_loads_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys\n" + "".join(f"import speidlib.{p}\n" for p in PACKAGES) +
            "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
