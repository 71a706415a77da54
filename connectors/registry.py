"""All components: the built-in control/pure ones and every connector, listed explicitly.

Nothing here is optional: every connector listed is imported, and a missing third-party dependency
stops the process at start with an ``ImportError`` naming the package and the component that needs it
(``connectors/__init__.py``). A new connector: add its class to ``CONNECTOR_CLASSES``. Components of
other packages come from the ``wfo.components`` entry-point group (connectors/plugins.py), loaded once
at worker/API start; a broken plugin stops the start with ``PluginError``.
"""

from __future__ import annotations

from functools import lru_cache

from connectors.amqp_publish import AmqpPublish
from connectors.base import Connector
from connectors.chat_post import ChatPost
from connectors.code import CodeJavascript, CodePython
from connectors.crypto_hmac import CryptoHmac
from connectors.database import DatabaseQuery
from connectors.email import EmailSend
from connectors.email_read import EmailRead
from connectors.file_ops import FileOps
from connectors.graphql_request import GraphqlRequest
from connectors.http import HttpRequest
from connectors.jwt_token import JwtToken
from connectors.mqtt_publish import MqttPublish
from connectors.mysql_query import MysqlQuery
from connectors.n8n import N8nExecute
from connectors.nats_publish import NatsPublish
from connectors.noop import Noop
from connectors.plugins import load_plugins
from connectors.redis_command import RedisCommand
from connectors.rss_read import RssRead
from connectors.s3_object import S3Object
from connectors.sftp_ops import SftpOps
from connectors.sms_send import SmsSend
from connectors.temporal_workflow import TemporalWorkflowStart
from connectors.webhook_respond import WebhookRespond
from workflows.components import BUILTIN_SPECS, Registry
from workflows.data_components import DATA_SPECS

CONNECTOR_CLASSES: tuple[type[Connector], ...] = (
    HttpRequest,
    Noop,
    DatabaseQuery,
    EmailSend,
    RedisCommand,
    MysqlQuery,
    AmqpPublish,
    MqttPublish,
    NatsPublish,
    GraphqlRequest,
    ChatPost,
    SmsSend,
    FileOps,
    S3Object,
    RssRead,
    SftpOps,
    EmailRead,
    WebhookRespond,
    CryptoHmac,
    JwtToken,
    CodePython,
    CodeJavascript,
    N8nExecute,
)


def connector_classes() -> list[type[Connector]]:
    """Built-in connectors, then the installed plugins' (entry-point group `wfo.components`)."""
    return list(CONNECTOR_CLASSES) + list(plugin_classes())


@lru_cache
def plugin_classes() -> tuple[type[Connector], ...]:
    """Loaded once per process; raises `PluginError` for a broken plugin (the worker/API does not start)."""
    taken = {spec.type for spec in BUILTIN_SPECS} | {cls.spec.type for cls in CONNECTOR_CLASSES}
    return tuple(load_plugins(taken))


def connectors() -> list[Connector]:
    """One instance per connector, plus the activity behind `temporal.workflow`'s fire-and-forget mode
    (a built-in control type, so its spec is not registered a second time)."""
    return [cls() for cls in connector_classes()] + [TemporalWorkflowStart()]


@lru_cache
def default_registry() -> Registry:
    return Registry(list(BUILTIN_SPECS) + list(DATA_SPECS) + [cls.spec for cls in connector_classes()])
