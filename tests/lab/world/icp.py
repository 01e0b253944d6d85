"""The lab world's ICP lookup gateway: GET /icp/query/web?search=<domain|filing|company>, answered in the
register's own JSON shape ({"code": 200, "params": {"list": [...], "total": N}}) from a synthetic register."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "icp"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "icp"
PREFIX = "/icp/query/web"


def register() -> list[dict[str, Any]]:
    return json.loads((DATA / "register.json").read_text(encoding="utf-8"))


def query(request: HTTPRequest) -> Response:
    term = request.params.get("search", "").strip()
    if not term:
        return Response(400, {"code": 400, "msg": "search is required", "success": False})
    found = [r for r in register()
             if term in (r["domain"], r["unitName"], r["mainLicence"], r["serviceLicence"])]
    body = {"code": 200, "msg": "操作成功", "success": True,
            "params": {"endRow": len(found), "firstPage": 1, "hasNextPage": False, "list": found, "pageNum": 1,
                       "pageSize": 10, "pages": 1, "total": len(found)}}
    return Response(200, json.dumps(body, ensure_ascii=False).encode("utf-8"),
                    content_type="application/json;charset=UTF-8")


def install(lab: Any) -> None:
    lab.http.get(PREFIX, query)


def settings(lab: Any) -> dict[str, Any]:
    return {"endpoint": f"{lab.http.url}{PREFIX}"}
