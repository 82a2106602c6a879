"""Setting aside a schedule that cannot be fired, the same way in beat and in-process.

Such a schedule leaves the due set with the reason (ScheduleFiring.set_aside) and is logged
once at ERROR; the engine that met it goes on with the others.
"""

from __future__ import annotations

import logging

from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.records import Schedule, Undecodable

__all__ = ["set_aside"]

log = logging.getLogger(__name__)


def set_aside(
    firing: ScheduleFiring,
    found: Schedule | Undecodable,
    error: BaseException | None,
    *,
    engine: str,
) -> bool:
    """Set ``found`` aside for ``error`` (None: it no longer decodes); logged if it was set aside.

    ``engine`` names who met it in the log line (``beat``, ``engine``).
    """
    reason = found.reason if isinstance(found, Undecodable) else f"{type(error).__name__}: {error}"
    if not firing.set_aside(found.id, str(found.version), reason):
        return False
    log.error(
        "%s: schedule %s (%s) set aside until it is changed or resumed: %s",
        engine,
        found.name or "?",
        found.id,
        reason,
        exc_info=error,
    )
    return True
