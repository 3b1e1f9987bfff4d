"""A certificate that proves itself offline (issue 23): the QR code's signed payload
(COSE_Sign1 over CBOR, base45), the signed key list and the signed status list.

Pure core: ``cose``, ``payload``, ``lists``, ``check`` take and return bytes and plain
data; the registry, the keys on disk and the routes live at the edges
(:mod:`service.verification.published_lists`, :mod:`service.api.offline`, :mod:`service.cli.verify_qr`).
"""
