"""``fieldface central serve | demo | user add | console-log``: the central console's doors.

Registered under ``fieldface central`` by device/central/commands.py. ``serve`` runs the console
under gunicorn as the unit's UI runs (web/server.py: one gthread worker), plus a thread that
raises new alerts every ``console.alert_check_s`` (console log, MQTT when configured) even while
nobody looks at the fleet page.
"""

from __future__ import annotations

import getpass
import logging
import threading
from pathlib import Path

from device.errors import UsageError
from web.commands import _bind

log = logging.getLogger(__name__)


def register(central) -> None:
    s = central.add_parser("serve", help="serve the central console (fleet, alerts, reports, explorer)")
    s.add_argument("--bind", type=_bind, metavar="HOST:PORT", help="address (default: console.bind)")
    s.set_defaults(handler=cmd_serve)

    d = central.add_parser("demo", help="make (once) a demo central store with three simulated units, and serve it")
    d.add_argument("--dir", type=Path, default=Path("central-demo"), help="where it lives (default: ./central-demo)")
    d.add_argument("--bind", type=_bind, metavar="HOST:PORT", default="127.0.0.1:8090")
    d.set_defaults(handler=cmd_demo)

    u = central.add_parser("user", help="console accounts")
    u_sub = u.add_subparsers(dest="user_command", metavar="ACTION")
    u_sub.required = True
    add = u_sub.add_parser("add", help="add a console account (password typed twice)")
    add.add_argument("username")
    add.add_argument("--role", action="append", choices=("auditor", "supervisor", "admin"), required=True)
    add.add_argument("--name", default="", help="display name")
    add.set_defaults(handler=cmd_user_add)

    c = central.add_parser("console-log", help="verify the console's own hash-chained log (exit 6 on a problem)")
    c.set_defaults(handler=cmd_console_log)


def _backend(ctx, args):
    from device.central.store import backend_for

    return backend_for(ctx.config, getattr(args, "store", None), ctx.env)


def cmd_user_add(ctx, args) -> int:
    from device.central import console_users
    from device.central.console_db import ConsoleDb, ConsoleLog

    password = getpass.getpass("password: ")
    if password != getpass.getpass("again: "):
        raise UsageError("the two passwords differ")
    db = ConsoleDb(_backend(ctx, args))
    user = console_users.create(db, ConsoleLog(db, ctx.config.console.name), ctx.config, args.username, password,
                                args.role, by=f"os:{getpass.getuser()}", display_name=args.name)  # fmt: skip
    print(f"console user {user.username}: {', '.join(sorted(user.roles))}")
    return 0


def cmd_console_log(ctx, args) -> int:
    from device.central.console_db import ConsoleDb, ConsoleLog
    from device.errors import AuditError

    clog = ConsoleLog(ConsoleDb(_backend(ctx, args)), ctx.config.console.name)
    problems = clog.verify()
    for p in problems[:50]:
        print(p)
    if problems:
        raise AuditError(f"the console log FAILED verification: {problems[0]}")
    last = clog.latest(1)
    print(f"console log intact: {last[0].seq if last else 0} entries")
    return 0


def cmd_serve(ctx, args) -> int:
    return serve(_backend(ctx, args), ctx.config, args.bind or ctx.config.console.bind)


def cmd_demo(ctx, args) -> int:
    from device.central.console_demo import DEMO_PASSWORD, ensure_console_demo

    backend = ensure_console_demo(args.dir, ctx.config)
    print(f"demo central store {backend.where}; console on http://{args.bind}/ "
          f"(auditor, supervisor or admin, password {DEMO_PASSWORD})", flush=True)  # fmt: skip
    return serve(backend, ctx.config, args.bind)


def alert_publisher(config):
    """``publish(alert)`` on ``<console.alerts_topic>/<unit>/<kind>`` (QoS 1, retained), or None."""
    if not config.console.alerts_topic:
        return None
    from device.central.console_alerts import alert_payload
    from device.sync.mqtt import connect_async, make_client

    client = make_client(f"{config.receiver.client_id}-console-alerts", config.receiver.broker)
    connect_async(client, config.receiver.broker)
    client.loop_start()

    def publish(alert: dict) -> None:
        topic = f"{config.console.alerts_topic}/{alert['unit']}/{alert['kind']}"
        client.publish(topic, alert_payload(alert), qos=1, retain=True)

    publish.client = client
    return publish


def watch_alerts(app, stop: threading.Event) -> threading.Thread:
    """Raise new alerts every console.alert_check_s, whether or not anyone has the page open."""
    from device.central import console_alerts
    from device.central.store import CentralStore

    config = app.config["FIELDFACE_CONFIG"]
    ext = app.extensions["fieldface_console"]

    def loop():
        while not stop.wait(config.console.alert_check_s):
            try:
                store = CentralStore(ext["backend"])
                try:
                    alerts = console_alerts.current(store, config)
                finally:
                    store.close()
                console_alerts.raise_new(ext["db"], ext["log"], alerts, app.extensions.get("fieldface_alert_publisher"))
            except Exception:
                log.exception("alert check failed")

    thread = threading.Thread(target=loop, name="alerts", daemon=True)
    thread.start()
    return thread


def serve(backend, config, bind: str) -> int:
    from web.console import create_console
    from web.server import _Gunicorn, gunicorn_options

    stop = threading.Event()

    def make_app():
        app = create_console(config, backend)
        app.extensions["fieldface_alert_publisher"] = alert_publisher(config)
        watch_alerts(app, stop)
        return app

    def worker_exit(server, worker):
        stop.set()

    options = {**gunicorn_options(config, bind), "proc_name": "fieldface-console", "worker_exit": worker_exit}
    _Gunicorn(make_app, options).run()
    return 0
