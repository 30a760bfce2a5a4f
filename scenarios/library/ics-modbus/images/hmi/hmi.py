"""HMI of water tank T-101: polls holding registers 0-3 of the PLC and shows them to operators.

    /hmi     the operators' page (level, setpoint, pump, valve, HIGH LEVEL ALARM when level > setpoint)
    /        the engineering view: the HMI project (PLC address, tags, notes), editable by anyone
    /flows   the project as JSON (what engineering tools download)

The project file is injected per team; its notes are what the vendor's engineers left behind.
"""

import html
import json
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pymodbus.client import ModbusTcpClient

with open(sys.argv[1], encoding="utf-8") as project:
    PROJECT = json.load(project)
STATE = {"online": False, "updated": None, "level": 0, "setpoint": 0, "pump": 0, "valve": 0}


def poll() -> None:
    plc = PROJECT["plc"]
    client = ModbusTcpClient(plc["host"], port=int(plc["port"]), timeout=2)
    while True:
        try:
            if not client.connected:
                client.connect()
            answer = client.read_holding_registers(0, 4, slave=int(plc["unit"]))
            if answer.isError():
                raise OSError(str(answer))
            level, setpoint, pump, valve = answer.registers
            now = datetime.now(UTC).isoformat(timespec="seconds")
            STATE.update(online=True, level=level, setpoint=setpoint, pump=pump, valve=valve, updated=now)
        except Exception:  # the PLC may be down or restarting: show it OFFLINE and keep polling
            STATE["online"] = False
            client.close()
        time.sleep(float(PROJECT.get("poll_seconds", 2)))


def hmi_page() -> str:
    pct = lambda v: f"{v / 10:.1f} %"  # noqa: E731
    alarm = STATE["level"] > STATE["setpoint"]
    return (
        '<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">'
        "<title>Water tank T-101</title></head><body><h1>Water treatment - tank T-101</h1>"
        f"<p>PLC: {'online' if STATE['online'] else '<b>OFFLINE</b>'} "
        f"(last read {STATE['updated'] or 'never'})</p>"
        '<table border="1" cellpadding="6">'
        f"<tr><th>Level</th><td>{pct(STATE['level'])}</td></tr>"
        f"<tr><th>High-level setpoint</th><td>{pct(STATE['setpoint'])}</td></tr>"
        f"<tr><th>Outlet pump P-101</th><td>{'RUNNING' if STATE['pump'] else 'STOPPED'}</td></tr>"
        f"<tr><th>Inlet valve V-101</th><td>{'OPEN' if STATE['valve'] else 'CLOSED'}</td></tr></table>"
        + ('<h2 style="color:red">HIGH LEVEL ALARM</h2>' if alarm else "")
        + "</body></html>"
    )


def editor_page() -> str:
    notes = "".join(
        f"<li><b>{html.escape(n['title'])}</b>: {html.escape(n['text'])}</li>"
        for n in PROJECT.get("notes", [])
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>HMI engineering</title></head><body>'
        f"<h1>HMI engineering - {html.escape(PROJECT['project'])}</h1>"
        f"<p>PLC {html.escape(PROJECT['plc']['host'])}:{PROJECT['plc']['port']} unit {PROJECT['plc']['unit']}"
        ' - <a href="/flows">download project</a></p>'
        f"<h2>Notes</h2><ul>{notes}</ul></body></html>"
    )


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/hmi":
            body, kind = hmi_page(), "text/html; charset=utf-8"
        elif self.path.split("?")[0] == "/flows":
            body, kind = json.dumps(PROJECT, indent=2), "application/json"
        elif self.path.split("?")[0] == "/":
            body, kind = editor_page(), "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


if __name__ == "__main__":
    threading.Thread(target=poll, daemon=True).start()
    ThreadingHTTPServer(("0.0.0.0", 1880), Handler).serve_forever()
