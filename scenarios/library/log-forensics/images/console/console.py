"""The SOC investigation console: read-only SQL over the evidence store, in a browser or as JSON.

    /            a query form and the result table (HTTP basic auth: the analyst's store account)
    /api/query   ?sql=SELECT... -> {"columns": [...], "rows": [[...], ...]} for scripts
    /health      200 once the console runs (no login)

Every request logs in to the store with the analyst's own credentials, so the store's grants (SELECT on
the evidence only) decide what a query may do; one statement per request.
"""

import base64
import html
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pymysql

STORE = os.environ.get("STORE_HOST", "logdb")
EXAMPLE = "SELECT received_at, source, line FROM events WHERE source = 'auth' ORDER BY id LIMIT 50"
MAX_ROWS = 1000


def credentials(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


def query(user: str, password: str, sql: str) -> dict:
    connection = pymysql.connect(
        host=STORE, user=user, password=password, database="logs", connect_timeout=5, read_timeout=30
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            rows = [[str(v) for v in row] for row in cursor.fetchmany(MAX_ROWS)]
    finally:
        connection.close()
    return {"columns": columns, "rows": rows}


def page(sql: str, result: dict | None, error: str) -> str:
    table = ""
    if result is not None:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in result["columns"])
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in result["rows"]
        )
        table = f'<p>{len(result["rows"])} row(s)</p><table border="1"><tr>{head}</tr>{body}</table>'
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>SOC console</title></head><body>'
        "<h1>SOC console - case web01</h1><p>Table <code>events</code>: received_at, host, source "
        "(auth, nginx, process), line.</p>"
        f'<form method="get"><textarea name="sql" rows="4" cols="100">{html.escape(sql)}</textarea>'
        "<br><button>Run</button></form>"
        + (f'<p style="color:red">{html.escape(error)}</p>' if error else "")
        + table
        + "</body></html>"
    )


class Handler(BaseHTTPRequestHandler):
    def send(self, status: int, body: str, kind: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="SOC console"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/health":
            self.send(200, "ok\n", "text/plain")
            return
        if url.path not in ("/", "/api/query"):
            self.send(404, "not found\n", "text/plain")
            return
        login = credentials(self.headers.get("Authorization", ""))
        if login is None:
            self.send(401, "log in as your analyst account\n", "text/plain")
            return
        sql = (parse_qs(url.query).get("sql") or [""])[0]
        result, error = None, ""
        if sql:
            try:
                result = query(*login, sql)
            except pymysql.err.OperationalError as exc:
                if exc.args and exc.args[0] == 1045:
                    self.send(401, "wrong user name or password\n", "text/plain")
                    return
                error = str(exc)
            except pymysql.err.MySQLError as exc:
                error = str(exc)
        if url.path == "/api/query":
            status = 200 if not error else 400
            self.send(status, json.dumps(result if not error else {"error": error}), "application/json")
        else:
            self.send(200, page(sql or EXAMPLE, result, error), "text/html; charset=utf-8")

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 3000), Handler).serve_forever()
