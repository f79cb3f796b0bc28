"""Strict request validation against a botocore service model, and a recorder of the requests code sends.

botocore's client-side ParamValidator checks required members, types and minimums only; AWS also
refuses values above `max`, outside an `enum` or not matching a `pattern` (server side, with a
ValidationException). `validate_request` checks all of them, the way AWS words them
("Value 'x' at 'inputConfig.endpointConfigurations.1.member.instanceType' failed to satisfy constraint:
Member must satisfy enum value set: [...]"), so a test can prove every request a piece of code sends
would pass AWS's own validation, and the emulator can refuse what AWS refuses.

Patterns in the models are Java regular expressions matched against the whole value; they are
translated (UTF-16 surrogate pairs, `\\p{...}` classes through the `regex` package when it is
installed) and a pattern Python cannot compile is not checked.

Nothing here is product code.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

__all__ = [
    "RecordedRequest",
    "RequestRecorder",
    "validate_request",
    "validation_message",
]

_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)


def _join_surrogates(match: re.Match[str]) -> str:
    high, low = int(match[1], 16), int(match[2], 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


@cache
def _compiled(pattern: str) -> Callable[[str], bool] | None:
    """A whole-value matcher for a Java pattern from a botocore model; None when it cannot be compiled."""
    translated = _SURROGATE_PAIR.sub(_join_surrogates, pattern)
    engine: Any = re
    if "\\p" in translated or "\\P" in translated:  # Unicode classes: only the `regex` package has them
        try:
            engine = importlib.import_module("regex")
        except ImportError:
            return None
    try:
        compiled = engine.compile(translated)
    except Exception:  # re.error / regex.error: a Java-only construct
        return None
    return lambda value: compiled.fullmatch(value) is not None


def _show(value: Any) -> str:
    if value is None:
        return "null"
    return f"'{value}'"


def _member_path(path: str, name: str) -> str:
    name = name[:1].lower() + name[1:]
    return f"{path}.{name}" if path else name


@dataclass
class _Checker:
    errors: list[str] = field(default_factory=list)

    def fail(self, path: str, value: Any, constraint: str) -> None:
        self.errors.append(f"Value {_show(value)} at '{path}' failed to satisfy constraint: {constraint}")

    def check(self, shape: Any, value: Any, path: str) -> None:
        kind = shape.type_name
        handler = getattr(self, f"_check_{kind}", None)
        if handler is not None:
            handler(shape, value, path)

    def _length(self, shape: Any, value: Any, length: int, path: str) -> None:
        minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
        if minimum is not None and length < minimum:
            self.fail(path, value, f"Member must have length greater than or equal to {minimum}")
        if maximum is not None and length > maximum:
            self.fail(path, value, f"Member must have length less than or equal to {maximum}")

    def _range(self, shape: Any, value: float, path: str) -> None:
        minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
        if minimum is not None and value < minimum:
            self.fail(path, value, f"Member must have value greater than or equal to {minimum}")
        if maximum is not None and value > maximum:
            self.fail(path, value, f"Member must have value less than or equal to {maximum}")

    def _check_structure(self, shape: Any, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(path, value, "Member must be a structure")
            return
        for name in shape.required_members:
            if value.get(name) is None:
                self.fail(_member_path(path, name), None, "Member must not be null")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                self.errors.append(f"Unknown parameter '{_member_path(path, name)}'")
            elif member_value is not None:
                self.check(member, member_value, _member_path(path, name))
        if getattr(shape, "is_tagged_union", False) and sum(v is not None for v in value.values()) != 1:
            self.fail(path, value, "Member must have exactly one member set (union)")

    def _check_list(self, shape: Any, value: Any, path: str) -> None:
        if not isinstance(value, list | tuple):
            self.fail(path, value, "Member must be a list")
            return
        self._length(shape, value, len(value), path)
        for index, item in enumerate(value, start=1):
            self.check(shape.member, item, f"{path}.{index}.member")

    def _check_map(self, shape: Any, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(path, value, "Member must be a map")
            return
        self._length(shape, value, len(value), path)
        for key, item in value.items():
            self.check(shape.key, key, f"{path}.key")
            self.check(shape.value, item, f"{path}.{key}.value")

    def _check_string(self, shape: Any, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.fail(path, value, "Member must be a string")
            return
        self._length(shape, value, len(value), path)
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            self.fail(path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = shape.metadata.get("pattern")
        matcher = _compiled(pattern) if pattern else None
        if matcher is not None and not matcher(value):
            self.fail(path, value, f"Member must satisfy regular expression pattern: {pattern}")

    def _check_integer(self, shape: Any, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, value, "Member must be an integer")
            return
        self._range(shape, value, path)

    _check_long = _check_integer

    def _check_float(self, shape: Any, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            self.fail(path, value, "Member must be a number")
            return
        self._range(shape, float(value), path)

    _check_double = _check_float

    def _check_boolean(self, shape: Any, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            self.fail(path, value, "Member must be a boolean")

    def _check_timestamp(self, shape: Any, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, dt.datetime | dt.date | str | int | float):
            self.fail(path, value, "Member must be a timestamp")

    def _check_blob(self, shape: Any, value: Any, path: str) -> None:
        if not (isinstance(value, bytes | bytearray | str) or hasattr(value, "read")):
            self.fail(path, value, "Member must be a blob")
        elif isinstance(value, bytes | bytearray | str):
            self._length(shape, value, len(value), path)


def validate_request(service_model: Any, operation_name: str, params: Mapping[str, Any]) -> list[str]:
    """Every way `params` breaks `operation_name`'s input shape in `service_model` (a botocore
    ServiceModel): required members, types, enums, min/max lengths and values, patterns, unknown
    members. [] when AWS's own validation would accept it."""
    operation = service_model.operation_model(operation_name)
    if operation.input_shape is None:
        return [f"Unknown parameter '{name}'" for name in params]
    checker = _Checker()
    checker.check(operation.input_shape, params, "")
    return checker.errors


def validation_message(errors: list[str]) -> str:
    """AWS's wording of a ValidationException carrying `errors`."""
    count = len(errors)
    return f"{count} validation error{'s' if count != 1 else ''} detected: " + "; ".join(errors)


# ---------------------------------------------------------------------------------------------------
# The recorder
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordedRequest:
    service: str
    operation: str
    params: dict[str, Any]
    service_model: Any = field(repr=False, compare=False)

    def problems(self) -> list[str]:
        return validate_request(self.service_model, self.operation, self.params)


@dataclass
class RequestRecorder:
    """Records every request made through the clients (or sessions) it is attached to, as the caller
    passed it, before botocore's own validation. `assert_all_valid()` fails a test on the first request
    AWS would refuse.

        recorder = RequestRecorder()
        recorder.attach(client)                      # one client
        with RequestRecorder.all_clients() as recorder:   # every client of this process, for the block
            run_the_code()
        recorder.assert_all_valid()
    """

    service: str = "*"  # a service name (the botocore event name's part, e.g. "sagemaker") or "*"
    requests: list[RecordedRequest] = field(default_factory=list)

    def attach(self, client_or_session: Any) -> None:
        """Hook a boto3/botocore client (client.meta.events) or session (session.events: every client it
        creates afterwards)."""
        meta = getattr(client_or_session, "meta", None)
        events = meta.events if meta is not None else client_or_session.events
        events.register(f"before-parameter-build.{self.service}.*", self._record_event)

    def _record_event(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._record(model.service_model, model.name, params)

    def _record(self, service_model: Any, operation: str, params: Mapping[str, Any]) -> None:
        service = service_model.service_name
        self.requests.append(RecordedRequest(service, operation, copy.deepcopy(dict(params)), service_model))

    @classmethod
    @contextmanager
    def all_clients(cls, service: str = "*") -> Iterator[RequestRecorder]:
        """Record the requests of every botocore client in this process while the block runs (clients
        code creates for itself included: handlers, moto's Step Functions interpreter)."""
        from botocore.client import BaseClient

        recorder = cls(service=service)
        client_class: Any = BaseClient
        original = client_class._make_api_call

        def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            service_model = client.meta.service_model
            if service in ("*", service_model.service_name):
                recorder._record(service_model, operation_name, api_params)
            return original(client, operation_name, api_params)

        client_class._make_api_call = make_api_call
        try:
            yield recorder
        finally:
            client_class._make_api_call = original

    def of(self, operation: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.operation == operation]

    def invalid(self) -> list[tuple[RecordedRequest, list[str]]]:
        return [(request, problems) for request in self.requests if (problems := request.problems())]

    def assert_all_valid(self) -> None:
        bad = self.invalid()
        if bad:
            lines = [f"{r.service}:{r.operation} {validation_message(problems)}" for r, problems in bad]
            raise AssertionError(
                f"{len(bad)} of {len(self.requests)} recorded requests would be refused by AWS:\n"
                + "\n".join(lines)
            )
