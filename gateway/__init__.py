"""The service: HTTP, auth, the access decision, EAS commands, admin API and CLI."""
