"""A local HTTP proxy in front of the emulated AWS: fixed latency, call counts, per-operation throttling.

`LatencyProxy(upstream_url)` forwards every request (method, path, headers, body) to the upstream
(moto's server) and returns its answer unchanged, after sleeping a fixed latency: the proxy is what
simulates the network between a client and AWS. It counts requests per (service, operation) and can
answer above N requests/s per operation with the service's own throttling error, shaped so that
botocore's retry handlers (legacy `_retry.json`, standard/adaptive `ThrottledRetryableChecker`)
classify it as throttling.

How a request is named (what botocore 1.43 sends):
- service: the SigV4 signing name in `Authorization` (`.../us-east-1/sagemaker/aws4_request`);
  `monitoring` is reported as `cloudwatch`.
- operation: `X-Amz-Target` (JSON protocols: SageMaker, Resource Groups Tagging API, Application Auto
  Scaling, and CloudWatch: botocore 1.43 resolves CloudWatch's `protocols` list
  [smithy-rpc-v2-cbor, json, query] to `json`, target `GraniteServiceVersion20100801.GetMetricData`,
  header `x-amzn-query-mode: true`); the path `/service/<S>/operation/<Op>` (smithy RPC v2 CBOR);
  `Action=` in the form body or query string (query protocol: STS, SNS, ...); otherwise
  `<METHOD> <path>` (REST protocols).

Nothing here is product code.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from emulated_aws.lifecycle import Service

__all__ = [
    "DEFAULT_LATENCY_S",
    "Counts",
    "LatencyProxy",
    "RequestName",
    "TokenBucket",
    "classify_request",
    "throttling_response",
]

DEFAULT_LATENCY_S = 0.020
THROTTLE_MESSAGE = "Rate exceeded"

# Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own business; everything else passes through.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",  # recomputed from the body actually sent
    }
)
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_RPC_V2_PATH = re.compile(r"/service/([^/]+)/operation/([^/?]+)")
_SERVICE_LABELS = {"monitoring": "cloudwatch", "states": "stepfunctions"}
# X-Amz-Target prefixes, for requests without a SigV4 Authorization header.
_TARGET_PREFIXES = {
    "SageMaker": "sagemaker",
    "ResourceGroupsTaggingAPI_20170126": "tagging",
    "AnyScaleFrontendService": "application-autoscaling",
    "GraniteServiceVersion20100801": "cloudwatch",
    "DynamoDB_20120810": "dynamodb",
    "AWSStepFunctions": "stepfunctions",
    "secretsmanager": "secretsmanager",
}


@dataclass(frozen=True)
class RequestName:
    """Who a request is for and how to answer it in the service's own error dialect."""

    service: str
    operation: str
    protocol: str  # json | rpc-v2-cbor | query | rest
    query_compatible: bool = False  # awsQueryCompatible service (CloudWatch): x-amzn-query-error


def classify_request(method: str, path: str, headers: Mapping[str, str], body: bytes) -> RequestName:
    """Name a request as botocore sends it: (service, operation) and the wire protocol."""
    lowered = {key.lower(): value for key, value in headers.items()}
    query_compatible = lowered.get("x-amzn-query-mode", "").lower() == "true"
    service = _signing_service(lowered, path)
    target = lowered.get("x-amz-target")
    if target:
        prefix, _, operation = target.rpartition(".")
        if service == "unknown":
            service = _TARGET_PREFIXES.get(prefix, prefix or "unknown")
        return RequestName(service, operation or target, "json", query_compatible)
    rpc = _RPC_V2_PATH.search(urllib.parse.urlsplit(path).path)
    if rpc or "cbor" in lowered.get("content-type", "") or lowered.get("smithy-protocol") == "rpc-v2-cbor":
        operation = rpc.group(2) if rpc else "unknown"
        if service == "unknown" and rpc:
            service = _TARGET_PREFIXES.get(rpc.group(1), rpc.group(1))
        return RequestName(service, operation, "rpc-v2-cbor", query_compatible)
    action = _query_action(path, lowered.get("content-type", ""), body)
    if action:
        return RequestName(service, action, "query")
    bare_path = urllib.parse.urlsplit(path).path or "/"
    return RequestName(service, f"{method} {bare_path}", "rest")


def _signing_service(headers: Mapping[str, str], path: str) -> str:
    match = _CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    if match is None:  # presigned URL: X-Amz-Credential in the query string
        credential = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("X-Amz-Credential")
        match = _CREDENTIAL_SCOPE.search(f"Credential={credential[0]}") if credential else None
    if match is None:
        return "unknown"
    name = match.group(1)
    return _SERVICE_LABELS.get(name, name)


def _query_action(path: str, content_type: str, body: bytes) -> str | None:
    if "x-www-form-urlencoded" in content_type and body:
        actions = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
        if actions:
            return actions[0]
    actions = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("Action")
    return actions[0] if actions else None


# ---------------------------------------------------------------------------------------------------
# throttling
# ---------------------------------------------------------------------------------------------------


class TokenBucket:
    """`rate` tokens per second, at most `burst` banked; `try_take()` spends one if there is one."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([(major << 5) | length])
    if length < 0x100:
        return bytes([(major << 5) | 24, length])
    if length < 0x10000:
        return bytes([(major << 5) | 25]) + length.to_bytes(2, "big")
    return bytes([(major << 5) | 26]) + length.to_bytes(4, "big")


def _cbor_text_map(values: Mapping[str, str]) -> bytes:
    """CBOR (RFC 8949) for a map of text strings: all an error body needs."""
    out = bytearray(_cbor_head(5, len(values)))
    for key, value in values.items():
        for text in (key, value):
            raw = text.encode()
            out += _cbor_head(3, len(raw)) + raw
    return bytes(out)


def throttling_response(name: RequestName) -> tuple[int, list[tuple[str, str]], bytes]:
    """The service's own throttling error for `name`'s protocol: (status, headers, body).

    JSON and RPC v2 CBOR: HTTP 400, `__type` ThrottlingException, "Rate exceeded" (SageMaker's documented
    throttle); an awsQueryCompatible service (CloudWatch) also gets `x-amzn-query-error: Throttling;Sender`,
    which botocore turns into the query-protocol code `Throttling`. Query: HTTP 400 `<Code>Throttling`.
    REST: HTTP 429 ThrottlingException. All four codes are in botocore's throttling lists.
    """
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    error = {"__type": "ThrottlingException", "message": THROTTLE_MESSAGE}
    if name.query_compatible:
        headers.append(("x-amzn-query-error", "Throttling;Sender"))
    if name.protocol == "json":
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
        return 400, headers, json.dumps(error).encode()
    if name.protocol == "rpc-v2-cbor":
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        return 400, headers, _cbor_text_map(error)
    if name.protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>Throttling</Code><Message>{THROTTLE_MESSAGE}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers.append(("Content-Type", "text/xml"))
        return 400, headers, body.encode()
    headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ThrottlingException")]
    return 429, headers, json.dumps(error).encode()


# ---------------------------------------------------------------------------------------------------
# counts
# ---------------------------------------------------------------------------------------------------

Operation = tuple[str, str]  # (service, operation)


@dataclass(frozen=True)
class Counts:
    """Requests seen by the proxy since the last reset, per (service, operation).

    `forwarded`: passed to the upstream; `throttled`: answered with a throttling error instead.
    `max_in_flight`: the most requests in the proxy at once (how parallel the client was).
    """

    forwarded: dict[Operation, int] = field(default_factory=dict)
    throttled: dict[Operation, int] = field(default_factory=dict)
    max_in_flight: int = 0

    @property
    def total_forwarded(self) -> int:
        return sum(self.forwarded.values())

    @property
    def total_throttled(self) -> int:
        return sum(self.throttled.values())

    @property
    def total(self) -> int:
        """Every request that reached the proxy (forwarded or throttled): the API calls made."""
        return self.total_forwarded + self.total_throttled

    def of(self, service: str, operation: str) -> int:
        """Requests (forwarded + throttled) for one operation."""
        key = (service, operation)
        return self.forwarded.get(key, 0) + self.throttled.get(key, 0)

    def by_operation(self) -> dict[str, int]:
        """{"service:Operation": requests}, most called first."""
        keys = set(self.forwarded) | set(self.throttled)
        rows = {f"{service}:{operation}": self.of(service, operation) for service, operation in keys}
        return dict(sorted(rows.items(), key=lambda item: (-item[1], item[0])))

    def throttled_by_operation(self) -> dict[str, int]:
        return {f"{s}:{o}": n for (s, o), n in sorted(self.throttled.items())}


# ---------------------------------------------------------------------------------------------------
# the proxy
# ---------------------------------------------------------------------------------------------------


class LatencyProxy(Service):
    """Forwards to `upstream_url` adding `latency_s` per request; counts and optionally throttles.

    Use as a context manager; `url` is what clients should use as their endpoint URL.
    """

    def __init__(
        self,
        upstream_url: str,
        *,
        latency_s: float = DEFAULT_LATENCY_S,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        upstream = urllib.parse.urlsplit(upstream_url)
        if upstream.scheme != "http" or not upstream.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream_url!r}")
        self._upstream = (upstream.hostname, upstream.port or 80)
        self.latency_s = latency_s
        # The throttles' time and the network's sleep: tests pass a fake clock (a throttle that does not
        # depend on the machine's speed) and a recorder (latency counted, not timed).
        self._clock = clock
        self._sleep = sleep
        self._bind = (host, port)
        self._lock = threading.Lock()
        self._forwarded: dict[Operation, int] = {}
        self._throttled: dict[Operation, int] = {}
        self._in_flight = 0
        self._max_in_flight = 0
        # (service or None, operation or None) -> (rate, burst); None matches every value.
        self._rules: dict[tuple[str | None, str | None], tuple[float, float | None]] = {}
        self._buckets: dict[Operation, TokenBucket | None] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("LatencyProxy is already running")
        server = _ProxyServer(self._bind, _ProxyHandler, self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="latency-proxy", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LatencyProxy is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- counts -------------------------------------------------------------------------------------
    def counts(self, *, reset: bool = False) -> Counts:
        """A snapshot of the counts (and, with reset=True, start counting afresh)."""
        with self._lock:
            snapshot = Counts(dict(self._forwarded), dict(self._throttled), self._max_in_flight)
            if reset:
                self._forwarded.clear()
                self._throttled.clear()
                self._max_in_flight = self._in_flight
        return snapshot

    def reset_counts(self) -> None:
        self.counts(reset=True)

    # -- throttling ---------------------------------------------------------------------------------
    def throttle(
        self,
        rate_per_s: float,
        *,
        service: str | None = None,
        operation: str | None = None,
        burst: float | None = None,
    ) -> None:
        """Answer above `rate_per_s` requests/s with a throttling error, with one token bucket per
        (service, operation) matched (None matches all: `throttle(20)` limits every operation to 20/s).
        `burst` is the bucket size (default: one second's worth)."""
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        with self._lock:
            self._rules[(service, operation)] = (rate_per_s, burst)
            self._buckets.clear()

    def clear_throttles(self) -> None:
        with self._lock:
            self._rules.clear()
            self._buckets.clear()

    def _bucket(self, key: Operation) -> TokenBucket | None:
        # called with self._lock held
        if key not in self._buckets:
            service, operation = key
            rule = next(
                (
                    self._rules[candidate]
                    for candidate in ((service, operation), (service, None), (None, operation), (None, None))
                    if candidate in self._rules
                ),
                None,
            )
            self._buckets[key] = TokenBucket(rule[0], rule[1], clock=self._clock) if rule else None
        return self._buckets[key]

    # -- per request (handler threads) --------------------------------------------------------------
    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _admit(self, name: RequestName) -> bool:
        key = (name.service, name.operation)
        with self._lock:
            bucket = self._bucket(key)
        admitted = bucket is None or bucket.try_take()
        with self._lock:
            tally = self._forwarded if admitted else self._throttled
            tally[key] = tally.get(key, 0) + 1
        return admitted

    def _forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=120)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for key, value in headers:
                connection.putheader(key, value)
            if body or method in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            payload = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, response.reason, kept, payload
        finally:
            connection.close()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a scanner's thread pool opens many connections at once

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: LatencyProxy):
        self.owner = owner
        super().__init__(address, handler)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    # Headers and body go out in two writes: with Nagle's algorithm on, the second waits for the
    # client's delayed ACK and every response on a kept-alive connection stalls about 40 ms.
    disable_nagle_algorithm = True
    server: _ProxyServer

    def do_GET(self) -> None:
        self._proxy()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(chunks)
                chunks += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _proxy(self) -> None:
        owner = self.server.owner
        owner._enter()
        try:
            status, reason, headers, payload = self._answer(owner)
        finally:
            owner._leave()  # before replying: a client holding its answer never sees itself in flight
        self._reply(status, reason, headers, payload)

    def _answer(self, owner: LatencyProxy) -> tuple[int, str, list[tuple[str, str]], bytes]:
        body = self._read_body()
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        name = classify_request(self.command, self.path, dict(self.headers.items()), body)
        if owner.latency_s > 0:
            owner._sleep(owner.latency_s)  # the simulated network: this sleep is the point
        if not owner._admit(name):
            status, error_headers, payload = throttling_response(name)
            return status, "Bad Request" if status == 400 else "Too Many Requests", error_headers, payload
        try:
            return owner._forward(self.command, self.path, headers, body)
        except OSError as exc:
            message = json.dumps({"message": f"proxy: upstream unreachable: {exc}"}).encode()
            return 502, "Bad Gateway", [("Content-Type", "application/json")], message

    def _reply(self, status: int, reason: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response_only(status, reason)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
