"""Batch jobs: what is asked and the items it covers (``jobs``), how an item of each kind
is done exactly once (``kinds``, ``work``), the chunk loop shared by the local pool
(``engine``) and Celery (``queue``), where a job stands (``progress``), its archive."""
