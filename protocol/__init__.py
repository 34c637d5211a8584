"""Exchange ActiveSync on the wire, pure: WBXML, code pages, requests, statuses. No I/O."""
