"""Worker processes: the bounded pool that lays out, rasterises and seals off the event
loop (``pool``), the process each worker runs (``child``) and what it does (``tasks``)."""
