"""All components: the built-in control/pure ones and every connector, listed explicitly.

Nothing here is optional: every connector listed is imported, and a missing third-party dependency
stops the process at start with an ``ImportError`` naming the package and the component that needs it
(``connectors/__init__.py``). A new connector: add its class to ``CONNECTOR_CLASSES``.
"""

from __future__ import annotations

from functools import lru_cache

from connectors.amqp_publish import AmqpPublish
from connectors.base import Connector
from connectors.chat_post import ChatPost
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
from connectors.nats_publish import NatsPublish
from connectors.noop import Noop
from connectors.redis_command import RedisCommand
from connectors.rss_read import RssRead
from connectors.s3_object import S3Object
from connectors.sftp_ops import SftpOps
from connectors.sms_send import SmsSend
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
)


def connector_classes() -> list[type[Connector]]:
    return list(CONNECTOR_CLASSES)


def connectors() -> list[Connector]:
    return [cls() for cls in connector_classes()]


@lru_cache
def default_registry() -> Registry:
    return Registry(list(BUILTIN_SPECS) + list(DATA_SPECS) + [cls.spec for cls in connector_classes()])
