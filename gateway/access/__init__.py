"""Mobile email access (SPEC §2–§5): which app a device is, whether it may sync now, and the
lifecycle of notices, quarantines and choices.

- `identity.ClientIdentity`: what a client says about itself on a request;
- `classify.classify`: Outlook for iOS and Android, or a third-party app (SPEC §3);
- `decision.decide`: the pure decision (setting or EAC rules, device, identity, now);
- `rollout`: when a previously configured device gets its notice;
- `lifecycle.Lifecycle`: applies decisions and choices to the store (the transition table);
- `service.AccessService`: the request path, the deadline scheduler, the admin operations.
"""
from gateway.access.errors import AccessError
from gateway.access.identity import ClientIdentity
from gateway.access.service import AccessService

__all__ = ["AccessError", "AccessService", "ClientIdentity"]
