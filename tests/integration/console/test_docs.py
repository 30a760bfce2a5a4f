"""The API docs work offline: /docs and /redoc reference only this server's own assets, and those answer."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

from orchestrator.wiring import Services
from tests.support.live import serve


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(http: httpx.Client, path: str) -> None:
    page = http.get(path)
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls, "the page loads its script and styles"
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "http://" not in page.text and "https://" not in page.text
    for url in urls:
        asset = http.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    assert http.get("/openapi.json").status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_api_only_server_serves_no_console(services: Services) -> None:
    api_only = replace(services, settings=services.settings.model_copy(update={"console_enabled": False}))
    with serve(api_only) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/").status_code == 404
        assert http.get("/signin").status_code == 404
        assert http.get("/docs").status_code == 200
        assert http.get("/health").status_code == 200
