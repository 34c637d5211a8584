"""The Sync command's parts: the request and its cache (`request`), the collection's Options
(`options`), the client's uploads (`client_changes`), the server's changes (`server_changes`)
and one collection's round trip (`collection`). `gateway/commands/sync.py` ties them up."""
