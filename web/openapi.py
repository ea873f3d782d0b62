"""The OpenAPI 3.1 description of /api/v1/ (served at /api/v1/openapi.json)."""

from __future__ import annotations

from device import __version__

_ERR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_COMMON = {"401": {**_ERR, "description": "not logged in"}, "403": {**_ERR, "description": "refused by a rule"}}


def _get(summary: str, params: list | None = None) -> dict:
    op = {"summary": summary, "responses": {"200": {"description": "ok"}, **_COMMON}}
    if params:
        op["parameters"] = params
    return {"get": op}


def _param(name: str, where: str = "query", kind: str = "integer", **bounds) -> dict:
    return {"name": name, "in": where, "required": where == "path", "schema": {"type": kind, **bounds}}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fieldface review API",
            "version": __version__,
            "description": "Candidate lists for trained human review only: never an identification. "
            "Session cookie from /login; unsafe methods need a one-time X-CSRF-Token.",
        },
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "ff_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                }
            },
        },
        "security": [{"session": []}],
        "paths": {
            "/api/v1/csrf-token": _get("a one-time token for the next unsafe request"),
            "/api/v1/cases": _get("the caller's case examinations (all of them for supervisors and auditors)"),
            "/api/v1/cases/{case_id}": _get(
                "one examination, its edits, search and candidates", [_param("case_id", "path")]
            ),
            "/api/v1/searches": {
                "post": {
                    "summary": "search the gallery with the examination's (enhanced) probe",
                    "security": [{"session": [], "csrf": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["case_id"],
                                    "properties": {
                                        "case_id": {"type": "integer", "minimum": 1},
                                        "face_index": {"type": "integer", "minimum": 0, "maximum": 999},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {"description": "the ranked candidates with the meaning of their scores"},
                        "400": {**_ERR, "description": "bad input or a failing probe without override"},
                        "404": {**_ERR, "description": "no such examination on this unit"},
                        "409": {**_ERR, "description": "the examination is not at this step"},
                        **_COMMON,
                    },
                }
            },
            "/api/v1/subjects": _get("gallery subjects (no images)", [_param("gallery", kind="string")]),
            "/api/v1/audit": _get(
                "audit entries after a sequence number",
                [_param("after", minimum=0), _param("limit", minimum=1, maximum=1000)],
            ),
        },
    }
