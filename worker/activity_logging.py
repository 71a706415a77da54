"""One log line per failed activity attempt, for every activity of the worker.

An activity that fails with one of our typed `ApplicationError`s (a peer answering 503, a webhook
receiver down, a bad config) is an expected path: this interceptor logs one line with the error type,
message and whether Temporal will retry, inside the activity's context and span (so `wfo.logs` adds the
execution, node, attempt and trace ids), and `wfo.logs` drops the SDK's own warning with its traceback.
Other exceptions are bugs: they keep the SDK's warning and traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from wfo.logs import failure_line

log = logging.getLogger("wfo.activity")


class _Inbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except ApplicationError as err:
            info = activity.info()
            policy = info.retry_policy
            line = failure_line(err, info.attempt, policy.maximum_attempts if policy else None)
            log.log(logging.INFO if "will be retried" in line else logging.WARNING, "%s: %s", info.activity_type, line)
            raise


class ActivityFailureLogInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)
