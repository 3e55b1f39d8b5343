"""Prometheus metrics in a registry owned by the app, plus one structured access-log line per request."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from signaling import BUS_BUCKETS, Stats
from telehealth.config import Settings
from telehealth.http.keys import CLIENT_IP, METRICS, SETTINGS
from telehealth.http.types import Handler

access_log = logging.getLogger("telehealth.access")


class Metrics:
    """The app's metrics; a registry per app so two apps in one process never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "telehealth_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "telehealth_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        # The signaling hub counts in plain numbers on its hot path; they are read at scrape.
        self.signaling = Stats()
        self.registry.register(SignalingCollector(self.signaling))


class SignalingCollector(Collector):
    """The signaling hub's counters and gauges, as Prometheus metrics (docs/deployment.md)."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """Read the hub's numbers now."""
        stats = self._stats
        yield GaugeMetricFamily(
            "telehealth_signaling_connections", "Open signaling WebSockets", stats.connections
        )
        yield GaugeMetricFamily(
            "telehealth_signaling_rooms",
            "Visit rooms with a connection on this instance",
            len(stats.rooms),
        )
        yield GaugeMetricFamily(
            "telehealth_signaling_queue_bytes",
            "Bytes of frames waiting for slow sockets",
            stats.queue_bytes,
        )
        yield GaugeMetricFamily(
            "telehealth_signaling_unacked_bytes",
            "Bytes of stream frames sent and not yet acknowledged by clients",
            stats.unacked_bytes,
        )
        yield _counter(
            "telehealth_signaling_frames_in", "Client frames by type", "type", stats.frames_in
        )
        yield _counter(
            "telehealth_signaling_frames_out", "Server frames by type", "type", stats.frames_out
        )
        yield _counter(
            "telehealth_signaling_errors", "error frames sent, by code", "code", stats.errors
        )
        yield _counter(
            "telehealth_signaling_closes",
            "Closed signaling connections, by close code",
            "code",
            {str(code): count for code, count in stats.closes.items()},
        )
        yield _counter(
            "telehealth_signaling_resumes", "resume attempts by outcome", "outcome", stats.resumes
        )
        latency = HistogramMetricFamily(
            "telehealth_signaling_bus_seconds",
            "Time of a call to the signaling bus (Redis round trips on several instances)",
            labels=["operation"],
        )
        for operation, histogram in sorted(stats.bus.items()):
            running = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip((*BUS_BUCKETS, float("inf")), histogram.counts, strict=True):
                running += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
            latency.add_metric([operation], buckets, histogram.total)
        yield latency


def _counter(name: str, doc: str, label: str, values: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _route_name(request: web.Request) -> str:
    # The route template, not the path, so ids do not explode the label space.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request and log it once."""
    metrics = request.app[METRICS]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        route = _route_name(request)
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.latency.labels(request.method, route).observe(elapsed)
        access_log.info(
            "%s %s %s",
            request.method,
            route,
            status,
            extra={
                "method": request.method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )


def may_scrape(settings: Settings, client_ip: str) -> bool:
    """Whether the client address is inside TELEHEALTH_METRICS_ALLOW."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket
    return any(address in network for network in settings.metrics_allow)


async def metrics_view(request: web.Request) -> web.Response:
    """GET /metrics in the Prometheus text format, to allowed addresses only (404 to others).

    The address is the one request_context settled on (the proxy's X-Forwarded-For entry when it
    is trusted), so a scrape relayed for the public through the proxy is refused too.
    """
    if not may_scrape(request.app[SETTINGS], request[CLIENT_IP]):
        raise web.HTTPNotFound()
    body = generate_latest(request.app[METRICS].registry)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
