"""The platform's message bus: one handler per command, retried on a concurrency conflict."""

from lfr_platform.messagebus import Handler, Handlers, MessageBus

__all__ = ["Handler", "Handlers", "MessageBus"]
