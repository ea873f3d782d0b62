"""Run the Flask app under gunicorn, in-process: one gthread worker, threads for requests.

One worker because one process must own the camera and hold the models; the key is unlocked in
the master before the worker forks, so the worker never asks for it and never touches key files.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from device.config import Config, parse_bind


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
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "fieldface-web",
        "forwarded_allow_ips": "127.0.0.1",
        # gunicorn 27's control socket lives in $HOME: nothing for it there on a hardened unit,
        # and nothing on the box should be steerable through an extra socket.
        "control_socket_disable": True,
    }


def serve(store, config: Config, bind: str) -> int:
    from web import create_app

    _Gunicorn(lambda: create_app(store, config), gunicorn_options(config, bind)).run()
    return 0
