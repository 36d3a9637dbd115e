"""``o2o-hq``: the headquarters backend.

``o2o-hq run [--database-url URL] [--host H] [--port P] [--workers N] [--log-json]`` waits
for the database, applies the Alembic migrations, then serves with uvicorn (N stateless
processes); ``--log-json`` logs JSON lines (parent and workers alike).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cloud_sync.hq.core.config import Settings, SettingsError

log = logging.getLogger("o2o-hq")

LOCAL_SECRETS_DIR = Path("var")


def _local_secret(name: str, make: str) -> str:
    """Read (or create, mode 0600) a secret file under var/ for the zero-setup demo."""
    from cloud_sync.hq.core.security import new_server_key, new_staff_token

    path = LOCAL_SECRETS_DIR / name
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = new_server_key() if make == "fernet" else new_staff_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    log.warning("generated %s (set it in the environment for production)", path)
    return value


def json_log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging for ``--log-json``: it applies this in every worker process too, so
    the workers' own and uvicorn's records all reach stderr as JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "edge.logs.JsonLineFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {name: {"propagate": True} for name in ("uvicorn", "uvicorn.error")},
    }


def cmd_run(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from cloud_sync.hq.core.db import upgrade, wait_for_database

    overrides = {"database_url": args.database_url} if args.database_url else {}
    try:
        settings = Settings.from_env(**overrides)
    except SettingsError as exc:
        print(f"o2o-hq: configuration error: {exc}", file=sys.stderr)
        return 2
    if not settings.secret_key:
        settings = settings.model_copy(
            update={"secret_key": _local_secret("hq-secret.key", "fernet")}
        )
    if not settings.admin_token:
        settings = settings.model_copy(
            update={"admin_token": _local_secret("hq-admin-token", "token")}
        )
        log.warning("admin bearer token is in %s", LOCAL_SECRETS_DIR / "hq-admin-token")
    url = settings.effective_database_url
    wait_for_database(url, timeout_s=args.wait_s)
    upgrade(url)
    log.info(
        "database at head; serving on %s:%d with %d worker(s)", args.host, args.port, args.workers
    )
    # Workers are separate processes: they rebuild the settings from these variables.
    os.environ.update(settings.to_env())
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics then adds up every worker's counters.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="o2o-hq-metrics-")
    uvicorn.run(
        "cloud_sync.hq.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
        log_config=json_log_config(args.log_level) if args.log_json else LOGGING_CONFIG,
    )
    return 0


def _settings_or_exit(database_url: str | None) -> Settings | None:
    overrides: dict[str, Any] = {"database_url": database_url} if database_url else {}
    try:
        return Settings.from_env(**overrides)
    except SettingsError as exc:
        print(f"o2o-hq: configuration error: {exc}", file=sys.stderr)
        return None


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("o2o-hq: the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    """Console accounts: add, list, disable, enable (each change is in the audit log)."""
    from datetime import UTC, datetime

    from cloud_sync.hq.console import accounts
    from cloud_sync.hq.core.db import make_engine, make_sessionmaker, upgrade

    settings = _settings_or_exit(args.database_url)
    if settings is None:
        return 2
    url = settings.effective_database_url
    upgrade(url)
    engine = make_engine(url, pool_size=1)
    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    now = datetime.now(UTC)
    try:
        with make_sessionmaker(engine)() as session:
            if args.users_command == "add":
                user = accounts.add_user(
                    session,
                    username=args.username,
                    password=_read_password(args),
                    role=accounts.ConsoleRole(args.role),
                    stores=args.store or [],
                    actor=actor,
                    now=now,
                )
                scope = f": {', '.join(user.stores)}" if user.stores else ""
                print(f"added {user.username} ({user.role}{scope})")
            elif args.users_command == "list":
                for user in accounts.list_users(session):
                    state = "disabled" if user.disabled else "active"
                    stores = ",".join(user.stores) or "*"
                    last = user.last_login_at.isoformat() if user.last_login_at else "never"
                    print(f"{user.username}\t{user.role}\t{stores}\t{state}\tlast login {last}")
            else:
                user = accounts.set_disabled(
                    session,
                    username=args.username,
                    disabled=args.users_command == "disable",
                    actor=actor,
                    now=now,
                )
                print(f"{user.username}: {'disabled' if user.disabled else 'enabled'}")
    except accounts.AccountError as exc:
        print(f"o2o-hq users: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="o2o-hq", description="o2o headquarters backend")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate the database and serve the HQ API")
    run.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL (postgresql+psycopg://...); default $O2O_HQ_DATABASE_URL "
        "or SQLite at var/hq.sqlite3",
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8300)
    run.add_argument("--workers", type=int, default=1, help="stateless worker processes")
    run.add_argument("--wait-s", type=float, default=60.0, help="how long to wait for the DB")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--log-json", action="store_true", help="log JSON lines (for log collectors)")
    run.set_defaults(handler=cmd_run)
    users = sub.add_parser("users", help="console accounts for people (add, list, disable)")
    users.add_argument("--database-url", default=None, help="default $O2O_HQ_DATABASE_URL")
    users.add_argument("--log-level", default="warning")
    users.add_argument("--log-json", action="store_true")
    users.set_defaults(handler=cmd_users)
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a console user")
    add.add_argument("username")
    add.add_argument(
        "--role",
        required=True,
        choices=["admin", "analyst", "store_manager"],
        help="admin: everything; analyst: reads every page; store_manager: their stores",
    )
    add.add_argument(
        "--store", action="append", help="a store manager's store id (repeat for several)"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    users_sub.add_parser("list", help="list console users")
    for verb in ("disable", "enable"):
        one = users_sub.add_parser(verb, help=f"{verb} a console user")
        one.add_argument("username")
    bench = sub.add_parser("bench", help="run a benchmark; prints one JSON object")
    bench.add_argument("name", choices=["availability", "nearby", "reports"])
    bench.add_argument(
        "--database-url",
        default=os.environ.get(
            "O2O_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to create the benchmark's own database on",
    )
    bench.add_argument(
        "--stores",
        type=int,
        default=None,
        help="default 500 (availability, nearby), 100 (reports)",
    )
    bench.add_argument(
        "--scale", type=float, default=1.0, help="reports: fraction of a year of 100 stores' data"
    )
    bench.add_argument("--runs", type=int, default=40, help="reports: timed runs per query")
    bench.add_argument("--gtins", type=int, default=20_000)
    bench.add_argument("--requests", type=int, default=2000)
    bench.add_argument("--keep", action="store_true", help="keep the database afterwards")
    bench.add_argument("--log-level", default="warning")
    bench.add_argument("--log-json", action="store_true")
    bench.set_defaults(handler=_bench)
    return parser


def _bench(args: argparse.Namespace) -> int:
    from cloud_sync.hq.bench import cmd_bench

    return cmd_bench(args)


def main(argv: Sequence[str] | None = None) -> int:
    from edge.logs import configure_logging

    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, json_lines=args.log_json)
    handler = args.handler
    return int(handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
