"""Typed dependencies of the monitor's routers; tests override them via `dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sdp_http.deps import CeleryDep, RedisDep
from sdp_http.errors import ServiceUnavailable
from sdp_monitor.cluster.control import Control
from sdp_monitor.cluster.inspector import Inspector
from sdp_monitor.cluster.queues import QueueBook
from sdp_monitor.cluster.series import SeriesRing
from sdp_monitor.history.store import HistoryStore
from sdp_monitor.http.audit import AuditLog
from sdp_monitor.settings import MonitorSettings
from sdp_monitor.stream.feed import ChangeFeed
from sdp_monitor.stream.live import LiveState

__all__ = [
    "AuditDep",
    "CeleryDep",
    "ControlDep",
    "FeedDep",
    "HistoryDep",
    "InspectorDep",
    "LiveDep",
    "QueuesDep",
    "RedisDep",
    "SeriesDep",
    "SettingsDep",
]


async def get_settings(request: Request) -> MonitorSettings:
    settings: MonitorSettings = request.app.state.settings
    return settings


async def get_live(request: Request) -> LiveState:
    live: LiveState = request.app.state.live
    return live


async def get_history(request: Request) -> HistoryStore:
    history: HistoryStore = request.app.state.history
    return history


async def get_control(request: Request) -> Control:
    control: Control = request.app.state.control
    return control


async def get_inspector(request: Request) -> Inspector:
    inspector: Inspector = request.app.state.inspector
    return inspector


async def get_audit(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


async def get_queues(request: Request) -> QueueBook:
    queues: QueueBook = request.app.state.queues
    return queues


async def get_feed(request: Request) -> ChangeFeed:
    feed: ChangeFeed = request.app.state.feed
    return feed


async def get_series(request: Request) -> SeriesRing:
    """The series ring, while its sampler runs: a stopped one would serve a frozen past."""
    if not request.app.state.sampler.running:
        raise ServiceUnavailable("the series sampler stopped; see the monitor's log")
    series: SeriesRing = request.app.state.series
    return series


SettingsDep = Annotated[MonitorSettings, Depends(get_settings)]
LiveDep = Annotated[LiveState, Depends(get_live)]
HistoryDep = Annotated[HistoryStore, Depends(get_history)]
ControlDep = Annotated[Control, Depends(get_control)]
InspectorDep = Annotated[Inspector, Depends(get_inspector)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]
QueuesDep = Annotated[QueueBook, Depends(get_queues)]
FeedDep = Annotated[ChangeFeed, Depends(get_feed)]
SeriesDep = Annotated[SeriesRing, Depends(get_series)]
