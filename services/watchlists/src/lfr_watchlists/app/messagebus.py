"""The platform's message bus: one handler per command, retried on a concurrency conflict."""

from lfr_platform.messagebus import Handler, MessageBus

__all__ = ["Handler", "MessageBus"]
