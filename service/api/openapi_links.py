"""OpenAPI links: how one answer feeds the next call (a certificate issued, then read,
reissued, revoked and verified; a batch job created, then followed).

They document the API's flows for a reader of /docs, and let a stateful fuzzer
(Schemathesis) walk the same sequences a platform does.
"""

from __future__ import annotations

NUMBER = {"number": "$response.body#/number"}
LOOKUP = {"number": "$response.body#/number", "name": "$response.body#/holder/name"}
CERTIFICATE = "/api/v1/certificates/{number}"

# (path, method, status) of the answer → {link name: (path, method, parameters, request body)}
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict, object]]] = {
    ("/api/v1/certificates", "post", "201"): {
        "ReadCertificate": (CERTIFICATE, "get", NUMBER, None),
        "CertificatePdf": (CERTIFICATE + "/pdf", "get", {**NUMBER, "version": "$response.body#/version"}, None),
        "ReissueCertificate": (CERTIFICATE + "/reissue", "post", NUMBER, None),
        "RevokeCertificate": (CERTIFICATE + "/revoke", "post", NUMBER, None),
        "CertificateEvents": (CERTIFICATE + "/events", "get", NUMBER, None),
        "LookUpCertificate": ("/api/v1/verify/lookup", "post", {}, LOOKUP),
    },
    (CERTIFICATE + "/reissue", "post", "201"): {
        "ReadCertificate": (CERTIFICATE, "get", NUMBER, None),
        "RevokeCertificate": (CERTIFICATE + "/revoke", "post", NUMBER, None),
        "LookUpCertificate": ("/api/v1/verify/lookup", "post", {}, LOOKUP),
    },
    (CERTIFICATE + "/revoke", "post", "200"): {
        "ReadCertificate": (CERTIFICATE, "get", NUMBER, None),
        "CertificateEvents": (CERTIFICATE + "/events", "get", NUMBER, None),
        "LookUpCertificate": ("/api/v1/verify/lookup", "post", {}, LOOKUP),
    },
    ("/api/v1/batches", "post", "202"): {
        "JobStatus": ("/api/v1/batches/{job_id}", "get", {"job_id": "$response.body#/id"}, None),
        "CancelJob": ("/api/v1/batches/{job_id}/cancel", "post", {"job_id": "$response.body#/id"}, None),
        "JobArchive": ("/api/v1/batches/{job_id}/archive", "get", {"job_id": "$response.body#/id"}, None),
    },
    ("/api/v1/organisations", "post", "201"): {
        "ChangeOrganisation": ("/api/v1/organisations/{code}", "patch", {"code": "$response.body#/code"}, None),
    },
}


def add_links(schema: dict) -> None:
    """Attach :data:`LINKS` to the answers they start from (by operationId)."""
    paths = schema.get("paths", {})
    for (path, method, status), links in LINKS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        response = operation.setdefault("responses", {}).setdefault(status, {"description": "成功"})
        response["links"] = {
            name: {
                "operationId": paths[target][target_method]["operationId"],
                **({"parameters": parameters} if parameters else {}),
                **({"requestBody": body} if body is not None else {}),
            }
            for name, (target, target_method, parameters, body) in links.items()
            if target_method in paths.get(target, {})
        }
