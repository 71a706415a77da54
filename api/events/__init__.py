"""Events and triggers: signing, SSRF guard, idempotency, rate limits, outbound event publishing."""

from api.events.emit import emit_event

__all__ = ["emit_event"]
