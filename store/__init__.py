"""Persistence: the mailbox store, device and policy records, behind one async API."""
