"""Logs, request ids and metrics: what an operator watches (docs/operations.md).

``context`` (the request id of the work at hand) is a leaf every layer may import;
``logs`` and ``metrics`` are used at the edges (the command line, the API, the worker
pool), never by the pure core."""
