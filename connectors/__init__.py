"""Side-effecting components (connectors). Every connector is required, none is optional.

Their third-party dependencies are checked here, once, before any connector module is imported: a
missing one stops the process at start (worker, API, CLI) with a message naming the package and the
component that needs it, instead of a component silently disappearing from the registry.
"""

from __future__ import annotations

import importlib

REQUIRED_PACKAGES: dict[str, str] = {
    "httpx": "http.request",
    "asyncpg": "db.query",
    "aiosmtplib": "email.send",
    "jwt": "jwt",
    "redis": "redis.command",
    "aiomysql": "mysql.query",
    "aio_pika": "amqp.publish",
    "aiomqtt": "mqtt.publish",
    "nats": "nats.publish",
    "boto3": "s3",
    "feedparser": "rss.read",
    "asyncssh": "sftp",
    "aioimaplib": "email.read",
    "py_mini_racer": "code.javascript",  # imported by the sandbox's JavaScript host process only
}


def _check_dependencies() -> None:
    for package, component in REQUIRED_PACKAGES.items():
        try:
            importlib.import_module(package)
        except ImportError as err:
            raise ImportError(
                f"a connector cannot be loaded: Python package {package!r} is missing (needed by {component!r}); "
                "install the project with its dependencies (pip install -e .)", name=package) from err


_check_dependencies()
