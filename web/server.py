"""Run the Flask app under gunicorn, in-process: one gthread worker, threads for requests.

One worker, on purpose. A hostile image can no longer take it down (decoding runs in child
processes, device/vision/safe_decode.py), so a second worker would buy CPU parallelism only, and
cost: the camera has one owner (an exclusive lock: a preview or Capture routed to another worker
would be refused), the workflow's cache of recent analyses is per process (step 2 would re-analyse
in the other worker), and each worker holds its own models and gallery index. Measured (PSS, x86,
demo gallery, after a login and a 3.3 MP probe): master 108 MiB, worker 220 MiB, its two decoding
children 44 + 56 MiB; a million-vector index adds ~481 MiB per worker. The key is unlocked in the
master before the worker forks, so the worker never asks for it and never touches key files.

Under systemd (``Type=notify``, ``NotifyAccess=all``: the worker is a child of the main pid) the
worker sends READY once the app is loaded (``post_worker_init`` runs after ``create_app``) *and*
the store is unlocked, which on a locked box is when the passphrase is typed. The watchdog is fed
by the worker's health loop, only after a query went through the encrypted store. Both master and
worker follow a lock made by another process (tamper): the master holds the key it forked with.
"""

from __future__ import annotations

import logging
import os
import threading

from gunicorn.app.base import BaseApplication

from device import service
from device.config import Config, parse_bind

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):
    def __init__(self, app_factory, options: dict):
        self._factory = app_factory
        self._options = options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._factory()


def gunicorn_options(config: Config, bind: str) -> dict:
    host, port = parse_bind(bind)
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": config.web.threads,
        "timeout": config.web.timeout_s,
        "graceful_timeout": 10,
        "accesslog": "-",
        # The path only: query strings carry case numbers and search words (?case=, ?error=), and
        # the referrer and user agent say nothing worth keeping.
        "access_log_format": '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "fieldface-web",
        "forwarded_allow_ips": "127.0.0.1",
        # gunicorn 27's control socket lives in $HOME: nothing for it there on a hardened unit,
        # and nothing on the box should be steerable through an extra socket.
        "control_socket_disable": True,
    }


def lifecycle_hooks(appliance: service.Appliance, config: Config, notify_env: dict) -> dict:
    """gunicorn server hooks: lock following in master and worker, READY and the watchdog in the worker.
    ``notify_env`` holds ``NOTIFY_SOCKET``, kept from gunicorn (see ``serve``)."""
    stop = threading.Event()

    def when_ready(server):  # master, after binding: it holds the keys it forked with
        service.watch_lockdown(appliance, stop, config.hooks.poll_s)

    def post_worker_init(worker):  # worker, after the app is loaded
        service.watch_lockdown(appliance, stop, config.hooks.poll_s)
        # systemd names the master in $WATCHDOG_PID; with NotifyAccess=all the worker may ping.
        interval = service.watchdog_interval({k: v for k, v in os.environ.items() if k != "WATCHDOG_PID"})
        if interval is not None:
            args = (appliance, stop, interval)
            health = threading.Thread(target=_health_loop, args=(*args, notify_env), name="watchdog", daemon=True)
            health.start()
        announced = threading.Event()

        def announce(store):
            if store is not None and not announced.is_set():
                announced.set()
                service.ready(f"serving on {worker.cfg.bind[0]}", env=notify_env)
            elif store is None:
                service.status("locked: waiting for the passphrase on the unlock screen", env=notify_env)

        appliance.on_change(announce)
        announce(None if appliance.locked else appliance.store)

    def worker_exit(server, worker):
        stop.set()

    return {"when_ready": when_ready, "post_worker_init": post_worker_init, "worker_exit": worker_exit}


def _health_loop(appliance: service.Appliance, stop: threading.Event, interval: float, notify_env: dict) -> None:
    while not stop.wait(interval):
        if appliance.health():
            service.watchdog_ping(env=notify_env)
        else:
            log.error("health check failed: not feeding the watchdog")


def serve(store, config: Config, bind: str, appliance: service.Appliance | None = None) -> int:
    """Serve ``store``, or ``appliance``'s store (possibly locked: then the unlock screen)."""
    from web import create_app

    if appliance is None:
        appliance = service.Appliance(store.data_dir, config)
        appliance.start(store)
    # gunicorn's master sends its own READY=1 as soon as it has bound the socket, before the app
    # is loaded or the store unlocked: it must not see the socket. Our worker hooks keep it.
    notify_env = {"NOTIFY_SOCKET": os.environ.pop("NOTIFY_SOCKET")} if "NOTIFY_SOCKET" in os.environ else {}
    from web import background

    hooks = lifecycle_hooks(appliance, config, notify_env)
    apps = []

    def make_app():
        apps.append(create_app(None, config, appliance=appliance))
        return apps[-1]

    def worker_exit(server, worker):  # the app's background executor ends with the worker
        hooks["worker_exit"](server, worker)
        for app in apps:
            background.shutdown(app)

    options = {**gunicorn_options(config, bind), **hooks, "worker_exit": worker_exit}
    _Gunicorn(make_app, options).run()
    return 0
