"""The services `lantern up` runs, and where each one's composition root lives.

The only place that names every service: the supervisor, `lantern serve` and the
test harness all read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plumbing.host import ServiceProcess
    from plumbing.settings import Settings

#: service name -> module with ``build(settings) -> ServiceProcess``, in start order.
SERVICES: dict[str, str] = {
    "intake": "services.intake.main",
    "dispatch": "services.dispatch.main",
    "followup": "services.followup.main",
}


def builder(service: str) -> Callable[[Settings], ServiceProcess]:
    build: Callable[[Settings], ServiceProcess] = importlib.import_module(SERVICES[service]).build
    return build
