"""An emulated AWS in this process: moto's server on a free local port, patched, with Step Functions on."""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from typing import Any

import boto3

from emulated_aws import moto_patches
from emulated_aws.lifecycle import Service
from emulated_aws.recommender import RecommenderEmulator, emulator

__all__ = ["ACCOUNT_ID", "EmulatedAws", "ExecutionDidNotEnd"]

ACCOUNT_ID = "123456789012"  # moto's default account
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Variables that would send boto3 somewhere else or make it ignore AWS_ENDPOINT_URL.
_REMOVED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


# moto's backends and the patches are process-wide: an emulator started while another runs (a module's
# own fixture inside the session's) must not take the patches away from the other when it stops.
_RUNNING_LOCK = threading.Lock()
_RUNNING: set[int] = set()  # id() of every started EmulatedAws


class ExecutionDidNotEnd(TimeoutError):
    """A Step Functions execution was still running when the deadline passed."""


class EmulatedAws(Service):
    """moto (server mode, threaded, in this process) with the harness patches applied.

    Use as a context manager. While it is active, os.environ points every boto3 client created in this
    process (tests, handlers run by the in-process Lambda runner, moto's Step Functions interpreter) at
    the local server, with fake credentials.
    """

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self.account_id = ACCOUNT_ID
        self._server: Any = None
        self._port: int | None = None
        self._saved_environ: dict[str, str | None] = {}
        self._session: boto3.session.Session | None = None
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._clients_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("EmulatedAws is already running")
        from moto.server import ThreadedMotoServer

        self._set_environ()  # first: importing moto reads the AWS config (a stale AWS_PROFILE breaks it)
        try:
            moto_patches.apply_patches()
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
        except BaseException:
            self._restore_environ()
            raise
        with _RUNNING_LOCK:
            _RUNNING.add(id(self))
        self._server = server
        self._session = boto3.session.Session()
        self._port = int(server.get_host_and_port()[1])
        os.environ.update({"AWS_ENDPOINT_URL": self.endpoint_url, "MOTO_PORT": str(self._port)})
        self._post("/moto-api/reset", None)  # moto's backends are process-wide: start empty
        emulator().reset()
        self._enable_step_functions()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        try:
            server.stop()
        finally:
            self._clients.clear()
            self._session = None
            self._restore_environ()
            moto_patches.forget_warm_functions()
            moto_patches.forget_ended_executions()
            with _RUNNING_LOCK:
                _RUNNING.discard(id(self))
                if not _RUNNING:
                    moto_patches.remove_patches()

    def reset(self) -> None:
        """Empty every moto backend (and forget warm handler modules, and put the emulated Inference
        Recommender's settings back to their defaults); the server keeps running."""
        self._post("/moto-api/reset", None)
        emulator().reset()
        self._enable_step_functions()
        moto_patches.forget_warm_functions()
        moto_patches.forget_ended_executions()

    # -- access -------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("EmulatedAws is not running")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
        """A boto3 client bound to the emulator, cached per service, region and account (clients are
        thread-safe). `account_id` acts in another (member) account, as its administrator would.

        Typed as Any: annotate with mypy_boto3 types at call sites if you want them.
        """
        key = (service, region or self.region, account_id or self.account_id)
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                if self._session is None:
                    raise RuntimeError("EmulatedAws is not running")
                client = self._session.client(
                    service,  # type: ignore[call-overload]
                    region_name=key[1],
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=_FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=_FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=_FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
                )
                if key[2] != self.account_id:
                    _act_in_account(client, key[2])
                self._clients[key] = client
            return client

    @property
    def recommender(self) -> RecommenderEmulator:
        """The emulated Inference Recommender's settings: profiles, failure modes, limits, the clock."""
        return emulator()

    def backend(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
        """moto's in-process backend object for `service` (for seeding what the API cannot set)."""
        from moto.backends import get_backend

        backends: Any = get_backend(service)  # type: ignore[call-overload]
        return backends[account_id or self.account_id][region or self.region]

    def published_sns_messages(self, topic_arn: str) -> list[dict[str, Any]]:
        """What was published to the topic: [{"message_id", "subject", "message", "attributes"}]."""
        region = topic_arn.split(":")[3]
        topic = self.backend("sns", region).topics.get(topic_arn)
        if topic is None:
            raise KeyError(f"no SNS topic {topic_arn} in the emulator")
        return [
            {"message_id": message_id, "subject": subject, "message": message, "attributes": attributes}
            for message_id, message, subject, attributes, _group_id in topic.sent_notifications
        ]

    def wait_for_execution(self, execution_arn: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait (no polling) until a Step Functions execution ends; returns DescribeExecution."""
        sfn = self.client("stepfunctions")
        if not moto_patches.wait_for_execution_end(execution_arn, timeout_s):
            described = sfn.describe_execution(executionArn=execution_arn)
            raise ExecutionDidNotEnd(
                f"execution {execution_arn} still {described['status']} after {timeout_s} s"
            )
        result: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if result["status"] != "SUCCEEDED":
            # A failed run's reason is in its history (a Task's error and cause), not in DescribeExecution:
            # kept on the result so a test's failure message can show it.
            result["failed_steps"] = self.failed_steps(execution_arn)
        return result

    def failed_steps(self, execution_arn: str) -> list[str]:
        """Each failed Task or Lambda call of an execution: its error and cause (for failure messages)."""
        sfn = self.client("stepfunctions")
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        found = []
        for event in events:
            for key, details in event.items():
                if key.endswith("FailedEventDetails") and isinstance(details, dict):
                    found.append(
                        f"{event['type']}: {details.get('error')}: {str(details.get('cause'))[:600]}"
                    )
        return found

    # -- internals ----------------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any] | None) -> Any:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "Content-Length": str(len(data))},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def _enable_step_functions(self) -> None:
        config = self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        if config is None:
            raise RuntimeError("moto did not answer /moto-api/config")

    def _set_environ(self) -> None:
        values = {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region, **_FAKE_CREDENTIALS}
        removed = [*_REMOVED_VARIABLES, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))]
        later = ["AWS_ENDPOINT_URL", "MOTO_PORT"]  # set once the server has its port
        self._saved_environ = {key: os.environ.get(key) for key in [*values, *removed, *later]}
        for key in removed:
            os.environ.pop(key, None)
        os.environ.update(values)

    def _restore_environ(self) -> None:
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ = {}


def _act_in_account(client: Any, account_id: str) -> None:
    """Send every request of `client` to `account_id`'s backends (moto's `x-moto-account-id` header)."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-sign.*.*", add_header)
