"""How long the gateway waits for each kind of call to a backend, named once."""

from __future__ import annotations

RPC_TIMEOUT_S = 10.0  # a lookup or a change: one row, one page
SEARCH_TIMEOUT_S = 30.0  # a search embeds the query and reads two indexes
ASK_TIMEOUT_S = 120.0  # an answer may wait for a remote model, with its retries
UPLOAD_TIMEOUT_S = 300.0  # the whole file streams through
EXPORT_PAGE_TIMEOUT_S = 30.0  # one page of an export
ERASE_TIMEOUT_S = 120.0  # one service erasing an organization's rows and objects
