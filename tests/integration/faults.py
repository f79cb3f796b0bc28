"""Fault injection for the apply tests: counts every AWS call made through a Clients bundle and injects one
kind of fault at call k -- the Lambda dies before the call, the call errors, the call goes through but its
reply is lost, or AWS is out from that call on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
from botocore.exceptions import ClientError, ReadTimeoutError

from emulated_aws.server import EmulatedAws
from endpoint_optimizer.infra.clients import Clients

Mode = Literal["dies", "errors", "lost_reply", "outage"]
# One session for every client of every trial: botocore loads each service model once.
SESSION = boto3.Session()
MODES: tuple[Mode, ...] = ("dies", "errors", "lost_reply", "outage")


def clients_for(aws: EmulatedAws) -> Clients:
    """The clients of one trial, from the one session every trial shares (botocore loads each model once)."""
    return Clients(SESSION, region=aws.region)


class LambdaDied(BaseException):
    """The function's process ended (timeout, out of memory): no line after this runs, no except."""


@dataclass
class Faults:
    """Counts every AWS call made through the attached clients and injects one kind of fault at call k."""

    mode: Mode | None = None
    at: int = 0
    calls: list[str] = field(default_factory=list)
    active: bool = True

    def attach(self, clients: Clients) -> Clients:
        every: tuple[Any, ...] = (
            clients.sagemaker,
            clients.autoscaling,
            clients.cloudwatch,
            clients.dynamodb,
            clients.s3,
            clients.ecr,
        )
        for client in every:
            client.meta.events.register("before-call", self._before)
            client.meta.events.register("after-call", self._after)
        return clients

    def _before(self, model: Any, **_: Any) -> None:
        if not self.active:
            return
        self.calls.append(model.name)
        n = len(self.calls)
        if self.mode == "dies" and n == self.at:
            raise LambdaDied(model.name)
        if (self.mode == "errors" and n == self.at) or (self.mode == "outage" and n >= self.at):
            code = "InternalFailure" if self.mode == "errors" else "ServiceUnavailable"
            raise ClientError({"Error": {"Code": code, "Message": f"injected at {model.name}"}}, model.name)

    def _after(self, model: Any, **_: Any) -> None:
        if self.active and self.mode == "lost_reply" and len(self.calls) == self.at:
            raise ReadTimeoutError(endpoint_url=f"injected lost reply of {model.name}")
