"""The package's two layers: the metric core never imports the reproduction, and stays light."""

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = [p for p in (ROOT / "pppcore").rglob("*.py") if "repro" not in p.relative_to(ROOT / "pppcore").parts]
# tqdm is left out: torch.hub imports it whenever it is installed; the core uses it optionally.
HEAVY = ("matplotlib", "pandas", "snakemake", "requests", "torchvision", "yaml")
# Optional packages a core module may import inside a function, only when a user asks for
# them (--torchvision NAME): never at module level, so ``import pppcore`` stays light.
OPTIONAL = {"pppcore/external.py": {"torchvision"}}


def imported_modules(path: Path, top_level: bool = False) -> set[str]:
    """Absolute names of what ``path`` imports (relative imports resolved inside pppcore);
    ``top_level``: only the module-level statements (not imports inside functions)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    tree = ast.parse(path.read_text())
    for node in tree.body if top_level else ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)
    return names


def test_core_never_imports_the_reproduction_or_heavy_packages():
    assert len(CORE) >= 12, [p.name for p in CORE]  # the walker found the core
    offenders = {}
    for path in CORE:
        optional = OPTIONAL.get(str(path.relative_to(ROOT)), set())
        top = imported_modules(path, top_level=True)
        bad = {m for m in imported_modules(path) if m.startswith("pppcore.repro") or m.split(".")[0] in HEAVY
               and (m.split(".")[0] not in optional or m in top)}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_the_walker_sees_a_relative_import_of_the_reproduction(tmp_path):
    """The check above can fail: a core module with ``from .repro import x`` is caught."""
    fake = ROOT / "pppcore" / "_layout_probe.py"
    try:
        fake.write_text("from .repro.tables import table2\n")
        assert "pppcore.repro.tables" in imported_modules(fake)
    finally:
        fake.unlink()


def test_import_pppcore_loads_no_workflow_package():
    code = ("import sys, json, pppcore; pppcore.build_model('vgg19', width=0.125); "
            "print(json.dumps(sorted(sys.modules)))")

    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert "torch" in loaded and "pppcore.models" in loaded
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith("pppcore.repro")] == []


def test_core_dependencies_are_torch_numpy_pillow():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = sorted(d.split(">")[0].split("=")[0].strip() for d in project["dependencies"])
    assert names == ["numpy", "pillow", "torch"]
    assert {"workflow", "test"} <= set(project["optional-dependencies"])


def test_public_names_of_the_core():
    import pppcore

    for name in ("build_model", "align", "make_twin", "measure_ppp", "PPPAccumulator", "PPPResult", "load_checkpoint",
                 "save_checkpoint"):
        assert callable(getattr(pppcore, name)), name
