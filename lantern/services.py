"""The services `lantern up` runs, and where each one's composition root lives.

The only place that names every service: the supervisor, `lantern serve` and the
test harness all read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plumbing.interface.process import ServiceProcess
    from plumbing.settings import Settings

#: service name -> module with ``build(settings) -> ServiceProcess``, in start order.
SERVICES: dict[str, str] = {
    "intake": "services.intake.main",
    "dispatch": "services.dispatch.main",
    "followup": "services.followup.main",
    "records": "services.records.main",
    "console": "services.console.main",  # the web app; last: it calls the others
}


#: service name -> "module:function" that validates the service's ``[section]`` of the TOML file.
CONFIG_SECTIONS: dict[str, str] = {
    "dispatch": "services.dispatch.config:parse",
    "console": "services.console.config:parse",
}


def validate_config(path: str) -> None:
    """Refuse a bad configuration file before anything starts, naming the key."""
    from plumbing.config import ConfigError, load_file

    data = load_file(path)
    for key in data:
        if key not in CONFIG_SECTIONS:
            raise ConfigError(f"unknown section; expected one of {sorted(CONFIG_SECTIONS)}", key)
    for target in CONFIG_SECTIONS.values():
        module, _, function = target.partition(":")
        getattr(importlib.import_module(module), function)(data)


def builder(service: str) -> Callable[[Settings], ServiceProcess]:
    build: Callable[[Settings], ServiceProcess] = importlib.import_module(SERVICES[service]).build
    return build
