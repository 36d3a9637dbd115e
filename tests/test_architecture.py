"""The dependency rule of docs/architecture.md, held by the code's own imports.

Every module of ``edge``, ``cloud_sync`` and ``models`` is parsed; every import in it (at the
top, inside functions, under ``TYPE_CHECKING``: all of them state a dependency) must point from
a higher layer to a lower one or within a layer, and the imports must form no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("edge", "cloud_sync", "models")

DOMAIN, ADAPTER, RUNTIME, SERVICE, API, APP, ENTRY, HQ, TOOLS = (
    "domain",
    "adapter",
    "runtime",
    "service",
    "api",
    "app",
    "entry",
    "hq",
    "tools",
)
RANK = {DOMAIN: 0, ADAPTER: 1, RUNTIME: 2, SERVICE: 3, API: 4, APP: 5, ENTRY: 6}

LAYERS: dict[str, str] = {
    # The domain: pure rules and formats on timestamped inputs.
    "edge": DOMAIN,  # edge/__init__.py
    "edge.clock": DOMAIN,
    "edge.logs": DOMAIN,
    "edge.progress": DOMAIN,
    "edge.config": DOMAIN,
    "edge.events": DOMAIN,
    "edge.rfid": DOMAIN,
    "edge.vision": DOMAIN,
    "edge.fusion": DOMAIN,
    "edge.recommend": DOMAIN,
    "edge.alerts": DOMAIN,
    "cloud_sync": DOMAIN,  # cloud_sync/__init__.py
    "cloud_sync.protocol": DOMAIN,
    # Adapters: drivers (ports, sockets, camera streams, worker processes), MQTT, the sync
    # client. They import the domain, their own package and (drivers) the MQTT transport.
    "edge.mqtt": ADAPTER,
    "edge.rfid.serial_reader": ADAPTER,
    "edge.rfid.mqtt_reader": ADAPTER,
    "edge.rfid.impinj_http": ADAPTER,
    "edge.rfid.event_delivery": ADAPTER,  # what the Zebra/Impinj drivers share
    "edge.rfid.llrp.driver": ADAPTER,
    "edge.vision.sources": ADAPTER,
    "edge.vision.camera": ADAPTER,
    "edge.vision.worker": ADAPTER,
    "edge.vision.video_builder": ADAPTER,  # writes videos from photographs (demo, tests)
    "cloud_sync.client": ADAPTER,
    "edge.runtime": RUNTIME,
    "edge.service": SERVICE,
    "edge.replay": SERVICE,
    "edge.api": API,
    "edge.app": APP,
    # Entry points: the command line and the benchmarks (they may use the composition root).
    "edge.cli": ENTRY,
    "edge.bench": ENTRY,
    "edge.rfid.cli": ENTRY,
    "edge.vision.cli": ENTRY,
    "edge.api.cli": ENTRY,
    "edge.replay.sim_cli": ENTRY,
    # Headquarters, a separate application: the domain and its own code only.
    "cloud_sync.hq": HQ,
    # Training and export of the shipped models: offline tools over the domain.
    "models": TOOLS,
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        found = LAYERS.get(".".join(parts[:end]))
        if found is not None:
            return found
    raise AssertionError(f"{module}: no layer in LAYERS (add it to docs/architecture.md too)")


def adapter_package(module: str) -> str:
    """The package an adapter belongs to (it may use the rest of that package)."""
    for package in ("cloud_sync.client", "edge.mqtt"):
        if module == package or module.startswith(package + "."):
            return package
    return ".".join(module.split(".")[:2])


def allowed(importer: str, imported: str) -> bool:
    source, target = layer_of(importer), layer_of(imported)
    if target == DOMAIN:
        return True
    if source == HQ:
        return target == HQ
    if source == TOOLS:
        # Training data comes from the simulated store's scenarios.
        return target == TOOLS or imported.startswith("edge.replay.scenarios")
    if target == HQ:
        return source == APP  # the demo runs headquarters beside the store
    if target == TOOLS:
        return source == ENTRY  # the recommender benchmark exports a model
    if source == ADAPTER:
        return target == ADAPTER and (
            adapter_package(imported) in (adapter_package(importer), "edge.mqtt")
        )
    if target == APP:
        return source in (APP, ENTRY)
    return RANK[source] >= RANK[target]


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic's scripts, loaded by Alembic
                continue
            found[module_name(path)] = path
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module an imported name lives in (``a.b.c`` may be a name in module ``a.b``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        for name in names:
            target = resolve(name, known)
            if target is not None and target != module:
                yield Import(module, target, node.lineno)


def import_graph() -> list[Import]:
    known = modules()
    return [found for module, path in known.items() for found in imports_of(module, path, known)]


def test_every_module_has_a_layer() -> None:
    for module in modules():
        layer_of(module)


def test_imports_follow_the_dependency_rule() -> None:
    wrong = [
        f"{i.importer} ({layer_of(i.importer)}) imports {i.imported} "
        f"({layer_of(i.imported)}), line {i.line}"
        for i in import_graph()
        if not allowed(i.importer, i.imported)
    ]
    assert wrong == [], "\n".join(wrong)


def test_imports_form_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for found in import_graph():
        graph.setdefault(found.importer, set()).add(found.imported)
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == [], "\n".join(cycles)


@pytest.mark.parametrize(
    ("importer", "imported", "ok"),
    [
        ("edge.api.routes.rooms", "edge.service.store", True),
        ("edge.service.store", "edge.api.schemas", False),
        ("edge.runtime.core", "edge.service.store", False),
        ("edge.rfid.tracker", "edge.runtime.owner", False),
        ("edge.rfid.mqtt_reader", "edge.mqtt.client", True),
        ("edge.rfid.serial_reader", "cloud_sync.client.outbox", False),
        ("cloud_sync.client.outbox", "edge.runtime.owner", False),
        ("edge.api.app", "edge.app.compose", False),
        ("edge.bench.e2e", "edge.app.compose", True),
        ("cloud_sync.hq.ingest", "edge.events.base", True),
        ("cloud_sync.hq.ingest", "edge.service.store", False),
        ("edge.fusion.engine", "edge.vision.sources", False),
        ("edge.runtime.core", "cloud_sync.hq.crud", False),
    ],
)
def test_the_rule_itself(importer: str, imported: str, ok: bool) -> None:
    """The checker can fail: known violations are caught, known good imports pass."""
    assert allowed(importer, imported) is ok
