"""``o2o-edge`` command line. Each area registers its own sub-commands (``register``) and
imports its heavy dependencies (OpenCV, dlib, onnxruntime) only inside the handlers, so that
``o2o-edge epc decode`` starts in a blink."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from edge.config import ConfigError

# Modules with a ``register(subparsers)`` function, in the order their commands are listed.
COMMAND_MODULES = (
    "edge.app.cli",
    "edge.replay.sim_cli",
    "edge.rfid.cli",
    "edge.vision.cli",
    "edge.bench.cli",
    "edge.api.cli",
    "edge.mqtt.cli",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="o2o-edge", description="In-store RFID and face-recognition edge service"
    )
    parser.add_argument(
        "--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR (default: config's)"
    )
    parser.add_argument("--log-json", action="store_true", help="Log as JSON lines")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from edge.logs import configure_logging

    configure_logging(args.log_level or "INFO", json_lines=args.log_json)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        logging.getLogger(__name__).info("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
