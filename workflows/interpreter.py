"""The one generic Temporal workflow: a thin shell that carries out what the pure engine plans."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, cast

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    RetryState,
    TimeoutError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from workflows.approvals import ApprovalTask
    from workflows.components import DEFAULT_PORT
    from workflows.definition import DefinitionError, RetrySpec, load_definition
    from workflows.engine import (
        AwaitApproval,
        Done,
        Engine,
        Outcome,
        RunActivity,
        RunChildren,
        Sleep,
        StartWorkflow,
        new_state,
    )
    from workflows.expressions import EXPRESSION_LIMITS_PATCH, EvalEnv
    from workflows.graph import analyze
    from workflows.secret_refs import literal_secret_paths
    from workflows.types import (
        APPROVALS_QUERY,
        CHECKPOINT_ACTIVITY,
        CLOSE_OUTSIDE_HISTORY,
        DECIDE_UPDATE,
        INTERPRETER_WORKFLOW,
        LOAD_DEFINITION_ACTIVITY,
        NODE_OUTPUT_QUERY,
        PROGRESS_QUERY,
        RECORD_NODE_RUNS_ACTIVITY,
        RESUME_QUERY,
        TASK_CLOSE_ACTIVITY,
        TASK_NOTIFY_ACTIVITY,
        TASK_OPEN_ACTIVITY,
        TASK_UPDATE_ACTIVITY,
        ComponentRequest,
        ComponentResult,
        Decision,
        ExecutionInput,
        LoadDefinitionRequest,
        LoadDefinitionResult,
        NodeRunsRecord,
    )

DEFAULT_RETRY = RetrySpec()


def _retry_policy(spec: RetrySpec | None) -> RetryPolicy:
    spec = spec or DEFAULT_RETRY
    return RetryPolicy(
        maximum_attempts=spec.max_attempts,
        initial_interval=spec.initial_interval,
        backoff_coefficient=spec.backoff_coefficient,
        maximum_interval=spec.maximum_interval,
        non_retryable_error_types=list(spec.non_retryable_errors) or None,
    )


def _failure_outcome(err: BaseException, default_attempts: int = 1) -> Outcome:
    """Turn an activity/child failure into a node error outcome (message, type, attempts)."""
    cause: BaseException | None = err
    while isinstance(cause, (ActivityError, ChildWorkflowError)) and cause.cause is not None:
        cause = cause.cause
    attempts = default_attempts
    details: Any = None
    etype = type(cause).__name__
    if isinstance(cause, ApplicationError):
        etype = cause.type or "ApplicationError"
        if cause.details and isinstance(cause.details[0], dict):
            details = cause.details[0]
            attempts = int(details.get("attempt", attempts))
    elif isinstance(cause, TimeoutError):
        etype = "Timeout"
    message = cause.message if isinstance(cause, FailureError) else str(cause)
    if isinstance(cause, TimeoutError):
        message = f"timed out ({cause.type.name if cause.type else 'timeout'})"
    return Outcome.failed(message or etype, type=etype, attempts=attempts,
                          details={k: v for k, v in (details or {}).items() if k != "attempt"} or None)


@workflow.defn(name=INTERPRETER_WORKFLOW)
class InterpreterWorkflow:
    """Interprets any workflow definition (nodes and edges), one activation at a time."""

    @workflow.init
    def __init__(self, inp: ExecutionInput) -> None:
        self._inp = inp
        self._features = frozenset(inp.features or ())
        self._engine: Engine | None = None
        self._approvals: dict[str, ApprovalTask] = {}
        self._background: list[asyncio.Task] = []
        """Bookkeeping activities that need not delay the next node (awaited before the run ends)."""
        self.closing: NodeRunsRecord | None = None
        """Set as the run ends (`CLOSE_OUTSIDE_HISTORY`): its node runs and row close, for the worker to write
        outside history (`worker.closing`). Nothing in the workflow reads it."""

    @workflow.query(name=APPROVALS_QUERY)
    def approvals(self) -> list[dict[str, Any]]:
        """Approval tasks of this run, open and closed (the inbox reconciles against this)."""
        return [t.public() for t in self._approvals.values()]

    @workflow.update(name=DECIDE_UPDATE)
    def decide(self, decision: Decision) -> dict[str, Any]:
        task = self._approvals[decision.task_id]
        return task.apply(decision, workflow.now())

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        task = self._approvals.get(decision.task_id)
        if task is None:
            raise ApplicationError(f"task {decision.task_id} is not open in this execution", type="TaskNotFound",
                                   non_retryable=True)
        task.check(decision)

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> dict[str, Any]:
        if self._engine is None:
            return {"status": "starting", "nodes": {}, "events": [], "activations": 0, "runs": 1}
        return self._engine.progress()

    @workflow.query(name=NODE_OUTPUT_QUERY)
    def node_output(self, node_id: str) -> dict[str, Any]:
        """The latest output of one node in this run (what `nodes.<id>` evaluates to); read-only."""
        nodes = self._engine.context["nodes"] if self._engine is not None else {}
        return {"node_id": node_id, "ran": node_id in nodes, "output": nodes.get(node_id)}
    @workflow.query(name=RESUME_QUERY)
    def resume_data(self) -> dict[str, Any]:
        """What a redrive of this execution may reuse: every node whose (single or last) activation
        completed, with its output and the port it took; plus the node's type and activation count."""
        engine = self._engine
        if engine is None:
            return {"nodes": {}, "status": "starting"}
        ports: dict[str, str] = {}
        for ev in engine.state["events"]:
            if ev.get("event") == "completed" and ev.get("port") is not None:
                ports[ev["node_id"]] = ev["port"]
        nodes: dict[str, Any] = {}
        for nid, st in engine.state["nodes"].items():
            if st["status"] != "completed" or nid not in engine.context["nodes"]:
                continue
            nodes[nid] = {"type": engine.defn.nodes[nid].type, "activations": st["activations"],
                          "port": st.get("port", ports.get(nid)), "output": engine.context["nodes"][nid]}
        return {"nodes": nodes, "status": engine.progress()["status"],
                "statuses": {nid: st["status"] for nid, st in engine.state["nodes"].items()}}

    def _patched(self, patch_id: str) -> bool:
        """`workflow.patched`, except for a feature the execution was started with (no marker, no upsert)."""
        return patch_id in self._features or workflow.patched(patch_id)

    def _env(self) -> EvalEnv:
        """The expression environment: workflow time and workflow randomness (one per run, refreshed).

        Work and allocation limits apply unless this run was recorded before they existed (replay of an
        old history keeps evaluating exactly as it did).
        """
        env = self.__dict__.get("_eval_env")
        if env is None:
            env = self._eval_env = EvalEnv(random=workflow.random().random,
                                           limits=self._patched(EXPRESSION_LIMITS_PATCH))
        env.now_millis = int(workflow.now().timestamp() * 1000)
        return env

    @workflow.run
    async def run(self, inp: ExecutionInput) -> Any:
        try:
            defn = load_definition(inp.definition)
        except DefinitionError as err:
            raise ApplicationError(f"invalid definition: {err}", type="InvalidDefinition", non_retryable=True)
        info = analyze(defn)
        if info.start is None:
            raise ApplicationError("invalid definition: exactly one start node is required",
                                   type="InvalidDefinition", non_retryable=True)
        info_ = workflow.info()
        execution_id = info_.workflow_id
        state = inp.state or new_state(defn, inp.input, {
            "id": execution_id, "workflow_id": inp.workflow_id, "version": inp.version,
            "started_at": workflow.now().isoformat(), "trigger": inp.trigger,
        }, info.start)
        if inp.state is None and inp.resume:
            # a redrive (a new input field, so no existing history takes this path)
            state["resume"] = {k: dict(v) for k, v in (inp.resume.get("completed") or {}).items()}
            state["context"]["execution"]["redrive_of"] = inp.resume.get("redrive_of")
        engine = self._engine = Engine(defn, info, state, execution_id)
        opts = inp.options
        tasks: dict[asyncio.Task, dict[str, Any]] = {}
        inline = 0
        try:
            while not engine.finished:
                draining = self._should_continue_as_new(opts)
                if not draining:
                    for act in engine.take_ready(workflow.now()):
                        step = engine.plan(act, workflow.now(), self._env(), opts.payload_threshold_bytes)
                        if isinstance(step, Done):
                            engine.complete(act, step.outcome, workflow.now())
                            inline += 1
                            if engine.finished:
                                break
                        else:
                            tasks[asyncio.create_task(self._carry_out(step, act, inp))] = act
                    if engine.finished:
                        break
                    if engine.has_pending():
                        if inline >= opts.inline_batch:
                            # a long run of pure nodes: yield through a no-op local activity (no server
                            # round trip) so no single activation trips the deadlock detector
                            inline = 0
                            await workflow.execute_local_activity(
                                CHECKPOINT_ACTIVITY, start_to_close_timeout=timedelta(seconds=30))
                        continue
                if not tasks:
                    if draining:
                        await self._drain_background()
                        workflow.continue_as_new(ExecutionInput(
                            definition=inp.definition, input=None, workflow_id=inp.workflow_id,
                            version=inp.version, trigger=inp.trigger, tenant_id=inp.tenant_id,
                            started_by=inp.started_by, options=opts, state=self._carry_over(engine),
                            features=inp.features))
                    break  # every token has ended without reaching an end node
                inline = 0
                self._show_details(engine)
                done, _ = await workflow.wait(list(tasks), return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    act = tasks.pop(task)
                    engine.complete(act, task.result(), workflow.now())
        except asyncio.CancelledError:
            # the execution is being cancelled: cancel running nodes and let them clean up (an approval
            # closes its inbox task) before the cancellation completes
            for task in tasks:
                task.cancel()
            if tasks:
                await workflow.wait(list(tasks))
            await self._drain_background()
            raise
        for task in tasks:  # an end node was reached: whatever still runs is not needed
            task.cancel()
        if tasks:
            await workflow.wait(list(tasks))
        await self._drain_background()
        await self._record_node_runs(engine, inp)
        failure = engine.state["failure"]
        if failure:
            raise ApplicationError(failure["message"], failure, type=failure["type"], non_retryable=True)
        return engine.state["result"]

    async def _record_node_runs(self, engine: Engine, inp: ExecutionInput) -> None:
        """Per-node outcome of a stored workflow's root execution, for analytics (best effort: a failure
        to record never changes the execution's outcome). Patched: older histories did not record."""
        if inp.tenant_id is None or inp.workflow_id is None or inp.trigger == "test":
            return
        if workflow.info().parent is not None or not self._patched("record-node-runs"):
            return
        nodes: dict[str, dict[str, Any]] = {}
        for nid, st in engine.state["nodes"].items():
            if not st["activations"] and not st.get("reused"):
                continue
            nodes[nid] = {"type": engine.defn.nodes[nid].type, "status": st["status"],
                          "activations": st["activations"], "attempts": st["attempts"],
                          "duration_ms": st["duration_ms"], "error": st["error"], "started_at": st["started_at"],
                          "reused": bool(st.get("reused"))}
        failure = engine.state["failure"]
        record = NodeRunsRecord(
            execution_id=workflow.info().workflow_id, tenant_id=inp.tenant_id, workflow_id=inp.workflow_id,
            version=inp.version, status="failed" if failure else "completed",
            started_at=engine.context["execution"]["started_at"], nodes=nodes)
        if "record-node-runs" in self._features:  # started by an API that reads the closed row (no marker)
            record.close_row = True
            record.output = None if failure else engine.state["result"]
            record.error = failure["message"] if failure else None
            record.progress = self.progress()
        if CLOSE_OUTSIDE_HISTORY in self._features:
            self.closing = record  # the worker writes it once the run has ended (no local activity, no marker)
            return
        try:
            await workflow.execute_local_activity(
                RECORD_NODE_RUNS_ACTIVITY, record, start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200)))
        except ActivityError:
            workflow.logger.warning("recording node runs of %s failed", record.execution_id)

    def _show_details(self, engine: Engine) -> None:
        """What the execution is doing now, for the Temporal UI's "current details" (not part of history)."""
        lines = []
        for act in sorted(engine.state["running"].values(), key=lambda a: a["seq"])[:20]:
            node = engine.defn.nodes[act["node"]]
            status = engine.state["nodes"][node.id]
            task = next((t for t in self._approvals.values() if t.node_id == node.id and not t.closed), None)
            what = (f"waiting for approval ({len(task.votes)}/{task.required} votes"
                    + (f", due {task.due_at.isoformat()}" if task.due_at else "") + ")") if task else "running"
            lines.append(f"- **{node.label}** (`{node.type}`) {what} since {status['started_at']}")
        details = "\n".join(lines) or "idle"
        if details != workflow.get_current_details():
            workflow.set_current_details(details)

    async def _drain_background(self) -> None:
        while self._background:
            pending, self._background = self._background, []
            await workflow.wait(pending)

    def _should_continue_as_new(self, opts) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > opts.max_history_events

    def _carry_over(self, engine: Engine) -> dict[str, Any]:
        state = engine.state
        state["runs"] += 1
        return state

    async def _carry_out(self, step, act: dict[str, Any], inp: ExecutionInput) -> Outcome:
        try:
            if isinstance(step, RunActivity):
                return await self._run_activity(step, inp)
            if isinstance(step, Sleep):
                if step.seconds > 0:
                    await workflow.sleep(timedelta(seconds=step.seconds))
                return Outcome(output={"waited_until": step.until})
            if isinstance(step, RunChildren):
                return await self._run_children(step, inp)
            if isinstance(step, AwaitApproval):
                return await self._await_approval(step, act, inp)
            if isinstance(step, StartWorkflow):
                return await self._start_workflow(step)
            raise ApplicationError(f"unknown step {step!r}", non_retryable=True)
        except (ActivityError, ChildWorkflowError) as err:
            attempts = 1
            if (isinstance(step, RunActivity) and isinstance(err, ActivityError)
                    and err.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED):
                # a timeout carries no attempt number: every attempt the policy allows was made
                attempts = (step.node.retry or DEFAULT_RETRY).max_attempts
            return _failure_outcome(err, attempts)

    async def _run_activity(self, step: RunActivity, inp: ExecutionInput) -> Outcome:
        node = step.node
        env = self._env()
        req = ComponentRequest(
            node_id=node.id, node_type=node.type, config=step.config, execution_id=workflow.info().workflow_id,
            idempotency_key=step.idempotency_key, workflow_id=inp.workflow_id, tenant_id=inp.tenant_id,
            render_context=step.render_context, skip_fields=step.skip_fields,
            payload_threshold_bytes=inp.options.payload_threshold_bytes, now_millis=env.now_millis,
            seed=workflow.random().randint(0, 2**31),
            secret_paths=literal_secret_paths(node.config),
        )
        timeout = node.timeout or timedelta(seconds=inp.options.default_activity_timeout_seconds)
        result: ComponentResult = await workflow.execute_activity(
            step.activity, req, result_type=ComponentResult,
            start_to_close_timeout=timeout, retry_policy=_retry_policy(node.retry),
            activity_id=step.activity_id, summary=f"{node.label} ({node.type})",
        )
        return Outcome(output=result.output, port=result.port or DEFAULT_PORT, attempts=result.attempt)

    async def _run_children(self, step: RunChildren, inp: ExecutionInput) -> Outcome:
        definition = step.definition
        version = None
        if definition is None:
            loaded: LoadDefinitionResult = await workflow.execute_activity(
                LOAD_DEFINITION_ACTIVITY,
                LoadDefinitionRequest(workflow_id=cast(str, step.stored_workflow_id), version=step.stored_version,
                                      tenant_id=inp.tenant_id),
                result_type=LoadDefinitionResult, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5, non_retryable_error_types=["DefinitionNotFound"]),
            )
            definition, version = loaded.definition, loaded.version
        sem = asyncio.Semaphore(max(1, step.concurrency))
        results: list[Any] = [None] * len(step.inputs)

        async def one(i: int, item: Any) -> None:
            async with sem:
                results[i] = await workflow.execute_child_workflow(
                    INTERPRETER_WORKFLOW,
                    ExecutionInput(definition=definition, input=item,
                                   workflow_id=step.stored_workflow_id, version=version,
                                   trigger=f"{step.kind}", tenant_id=inp.tenant_id, started_by=inp.started_by,
                                   options=inp.options),
                    id=f"{step.child_id_prefix}/{i}",
                )

        children = [asyncio.create_task(one(i, item)) for i, item in enumerate(step.inputs)]
        try:
            if children:
                await asyncio.gather(*children)
        except BaseException:
            for c in children:
                c.cancel()
            await workflow.wait(children)
            raise
        return Outcome(output=results if step.kind == "map" else results[0])

    async def _start_workflow(self, step: StartWorkflow) -> Outcome:
        """`temporal.workflow` as a child: any workflow type, on any task queue; waits for its result."""
        try:
            handle = await workflow.start_child_workflow(
                step.workflow_type, args=step.args, id=step.workflow_id, task_queue=step.task_queue,
                execution_timeout=timedelta(seconds=step.execution_timeout_seconds)
                if step.execution_timeout_seconds else None,
            )
        except WorkflowAlreadyStartedError:
            return Outcome.failed(f"a workflow with id '{step.workflow_id}' is already running",
                                  type="WorkflowAlreadyStarted")
        result = await handle
        return Outcome(output={"workflow_id": handle.id, "run_id": handle.first_execution_run_id, "result": result})

    async def _task_activity(self, name: str, task: "ApprovalTask", inp: ExecutionInput, suffix: str = "") -> None:
        await workflow.execute_activity(
            name, task.record(workflow.info().workflow_id, inp.workflow_id, inp.tenant_id),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
            activity_id=f"{task.node_id}#{name}#{task.task_id.rsplit(':', 1)[-1]}{suffix}",
            summary=f"{name.split('_')[-1]} approval task '{task.title}'",
        )

    async def _notify(self, task: "ApprovalTask", inp: ExecutionInput) -> None:
        """Email signed links to assignees not notified yet (in the background: nobody waits for mail)."""
        if task.notify_email and not task.closed:
            suffix = "#escalated" if task.escalated else ""
            self._background.append(
                asyncio.create_task(self._task_activity(TASK_NOTIFY_ACTIVITY, task, inp, suffix)))

    async def _await_approval(self, step: AwaitApproval, act: dict[str, Any], inp: ExecutionInput) -> Outcome:
        """Wait, durably and without polling, for people to decide; escalate or time out when due."""
        task = ApprovalTask.from_config(step.task_id, act["node"], step.config, inp.started_by, workflow.now())
        # decidable as soon as it exists here: the inbox row written next never runs ahead of it
        self._approvals[task.task_id] = task
        await self._task_activity(TASK_OPEN_ACTIVITY, task, inp)
        await self._notify(task, inp)
        try:
            try:
                await workflow.wait_condition(lambda: task.closed, timeout=task.due)
            except asyncio.TimeoutError:
                if task.on_timeout == "escalate":
                    task.escalate(workflow.now())
                    await self._task_activity(TASK_UPDATE_ACTIVITY, task, inp)
                    await self._notify(task, inp)
                    try:
                        await workflow.wait_condition(lambda: task.closed, timeout=task.due)
                    except asyncio.TimeoutError:
                        task.time_out(workflow.now(), reject=False)
                else:
                    task.time_out(workflow.now(), reject=task.on_timeout == "reject")
        except asyncio.CancelledError:
            task.cancel(workflow.now())
            await asyncio.shield(asyncio.ensure_future(self._task_activity(TASK_CLOSE_ACTIVITY, task, inp)))
            raise
        if self._patched("approval-close-in-background"):
            # the next node need not wait for the inbox row to be closed
            self._background.append(asyncio.create_task(self._task_activity(TASK_CLOSE_ACTIVITY, task, inp)))
        else:
            await self._task_activity(TASK_CLOSE_ACTIVITY, task, inp)
        port = task.port
        if port == "timeout" and not cast(Engine, self._engine).defn.outgoing(act["node"], "timeout"):
            port = "rejected"  # no timeout edge: a timed-out approval counts as rejected
        return Outcome(output=task.output(), port=port)
