"""`statusd`: the one command. It only wires the packages; they do the work.

    statusd up        collector + API in one process, Redis embedded unless REDIS_URL
    statusd collect   the collector daemon (Procfile: collector)
    statusd serve     the API under gunicorn (Procfile: web)
    statusd check     validate the configuration and list the services
    statusd demo      everything, against local imitations of every service

Exit codes: 0 done, 2 bad command line, 3 bad configuration, 4 cannot start
(a port in use, say), 141 the reader of the output left (`statusd check | head`),
as for any tool ended by SIGPIPE. Errors are one clear line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared.config import Config, ConfigError, Settings
from statusd.signals import StopSignals

if TYPE_CHECKING:
    # For annotations only: run_up imports it itself, so other commands skip fakeredis.
    from statusd.embedded import EmbeddedRedis

EXIT_CONFIG = 3
EXIT_START = 4
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a tool ended by SIGPIPE


class StartError(Exception):
    """Something outside the configuration keeps a command from starting."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    # `serve` leaves signals to gunicorn; `check` ends by itself.
    args.stop = (
        StopSignals().install() if args.command in ("up", "collect", "demo") else None
    )
    try:
        settings = Settings.from_environ()
        from statusd.logs import setup

        setup(settings.log_level)
        code = int(args.run(args, settings) or 0)
        sys.stdout.flush()  # here, where a closed pipe can still be caught
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except ConfigError as error:
        print(f"statusd: configuration error\n{error}", file=sys.stderr)
        return EXIT_CONFIG
    except StartError as error:
        print(f"statusd: cannot start: {error}", file=sys.stderr)
        return EXIT_START
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """Send what is left of the output nowhere, so that exiting raises nothing more.

    Python flushes stdout once more on its way out, and a pipe whose reader has
    gone would fail that flush with an "Exception ignored" message.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # not a file of this process (a test's capture, say): nothing to flush


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535."""
    return _whole_number(text, 0, 65535, "a port from 0 to 65535")


def worker_count(text: str) -> int:
    """An argparse type: how many worker processes, at least one."""
    return _whole_number(text, 1, None, "a whole number, at least 1")


def _whole_number(text: str, low: int, high: int | None, wanted: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
    number = int(text)
    if number < low or (high is not None and number > high):
        raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
    return number


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="statusd", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="collector and API in one process")
    _common(up, host="127.0.0.1")
    up.add_argument(
        "--redis-port", type=port_number, default=0, help="embedded Redis port (0: any)"
    )
    up.set_defaults(run=run_up)

    collect = commands.add_parser("collect", help="run the collector daemon")
    collect.add_argument(
        "--config", help="TOML file (default: $STATUSD_CONFIG or built-in)"
    )
    collect.set_defaults(run=run_collect)

    serve = commands.add_parser("serve", help="serve the API with gunicorn")
    _common(serve, host="0.0.0.0")
    serve.add_argument(
        "--workers", type=worker_count, default=2, help="gunicorn worker processes"
    )
    serve.set_defaults(run=run_serve)

    check = commands.add_parser("check", help="validate the configuration")
    check.add_argument(
        "--config", help="TOML file (default: $STATUSD_CONFIG or built-in)"
    )
    check.set_defaults(run=run_check)

    demo = commands.add_parser("demo", help="a live demo against local imitations")
    demo.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (127.0.0.1)"
    )
    demo.add_argument(
        "--port", type=port_number, default=None, help="port (default $PORT or 5000)"
    )
    demo.set_defaults(run=run_demo)
    return parser


def _common(command: argparse.ArgumentParser, host: str) -> None:
    command.add_argument(
        "--config", help="TOML file (default: $STATUSD_CONFIG or built-in)"
    )
    command.add_argument("--host", default=host, help=f"address to listen on ({host})")
    command.add_argument(
        "--port", type=port_number, default=None, help="port (default $PORT or 5000)"
    )


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    from statusd.wiring import load_config

    config = load_config(args.config)
    print(f"{config.source}: {len(config.services)} services, configuration is valid")
    missing = config.missing_contract_services()
    if missing:
        print(
            f"  note: the widget also expects {', '.join(missing)};"
            " they will read unknown"
        )
    for service in config.services:
        print(
            f"  {service.name:<16} {service.kind:<11} every {service.interval:g}s, "
            f"timeout {service.timeout:g}s, stale after {service.stale_after:g}s"
        )
    return 0


def run_collect(args: argparse.Namespace, settings: Settings) -> int:
    from statusd.wiring import build_collector, environment, load_config

    config = load_config(args.config)
    redis_url = _require_redis(settings)
    collector = build_collector(config, redis_url, environment())
    collector.start()
    try:
        args.stop.wait()
    finally:
        collector.stop()
    return 0


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from statusd.server import serve_with_gunicorn
    from statusd.wiring import build_api, load_config

    config = load_config(args.config)
    app = build_api(config, _require_redis(settings), settings)
    port = _port(args, settings)
    _ensure_free(args.host, port)
    serve_with_gunicorn(app, args.host, port, workers=args.workers)
    return 0


def _ensure_free(host: str, port: int) -> None:
    """Fail fast on a port in use: gunicorn would retry for seconds, then exit 1."""
    from statusd.server import ensure_free

    try:
        ensure_free(host, port)
    except OSError as error:
        reason = error.strerror or str(error)
        raise StartError(f"cannot listen on {host}:{port}: {reason}") from None


def run_up(args: argparse.Namespace, settings: Settings) -> int:
    from statusd.embedded import EmbeddedRedis
    from statusd.server import BackgroundServer
    from statusd.wiring import build_api, build_collector, environment, load_config

    config = load_config(args.config)
    embedded = None
    redis_url = settings.redis_url
    if redis_url is None:
        embedded = _start_embedded_redis(EmbeddedRedis, args.redis_port)
        redis_url = embedded.url

    collector = build_collector(config, redis_url, environment())
    server = None
    try:
        server = BackgroundServer(
            build_api(config, redis_url, settings),
            args.host,
            _port(args, settings),
        ).start()
        collector.start()
        _announce(config, server.url, embedded, redis_url)
        args.stop.wait()
    finally:
        collector.stop()
        if server:
            server.stop()
        if embedded:
            embedded.stop()
    return 0


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    from statusd.demo import run_demo as demo

    return demo(args, settings)


def _port(args: argparse.Namespace, settings: Settings) -> int:
    """--port wins over $PORT; 0 asks the system for any free port."""
    return args.port if args.port is not None else settings.port


def _require_redis(settings: Settings) -> str:
    if settings.redis_url is None:
        raise ConfigError(
            "environment", [("REDIS_URL", "is not set (or run `statusd up`)")]
        )
    return settings.redis_url


def _start_embedded_redis(factory: type, port: int) -> EmbeddedRedis:
    try:
        return factory(port=port).start()
    except OSError as error:
        raise StartError(
            f"embedded Redis cannot listen on port {port}: {error.strerror}"
        ) from None


def _announce(
    config: Config,
    url: str,
    embedded: EmbeddedRedis | None,
    redis_url: str | None = None,
) -> None:
    lines = [
        f"statusd is up: {url}/api/system-status ({len(config.services)} services)"
    ]
    if embedded is None and redis_url is not None:
        lines.append(f"using the Redis at {redis_location(redis_url)} (REDIS_URL)")
    if embedded is not None:
        port = embedded.port
        lines.append(
            f"embedded Redis (in memory) on port {port}: redis-cli -p {port} keys 'statusd:*'"
        )
    lines.append("Ctrl-C stops it.")
    print("\n".join(lines), flush=True)


def redis_location(url: str) -> str:
    """Where a Redis URL points and which database, without its credentials."""
    from urllib.parse import urlsplit

    from shared.config import redis_database

    parts = urlsplit(url)
    database = redis_database(url) or "0"
    if parts.scheme == "unix":
        return f"{parts.path} (socket), database {database}"
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{host}:{parts.port or 6379}/{database}"


if __name__ == "__main__":
    sys.exit(main())
