"""Delivering pages to outside channels (webhook, e-mail); the inbox goes through the relay."""

from services.dispatch.notify.notifier import build_notifier

__all__ = ["build_notifier"]
