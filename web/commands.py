"""``serve`` and ``demo``: the review UI under gunicorn."""

from __future__ import annotations

from pathlib import Path

from device.config import parse_bind
from device.errors import UsageError


def _bind(value: str) -> str:
    try:
        parse_bind(value)
    except ValueError as exc:
        raise UsageError(f"--bind: {exc}") from None
    return value


def register(sub) -> None:
    p = sub.add_parser("serve", help="unlock the store and serve the review UI")
    p.add_argument("--bind", type=_bind, metavar="HOST:PORT", help="address (default: web.bind in the config)")
    p.add_argument("--unlock-screen", action="store_true",
                   help="with no key or a locked box, serve the unlock screen instead of failing")  # fmt: skip
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("demo", help="create (once) a demo data dir with its own key, and serve it")
    p.add_argument("--dir", type=Path, default=Path("demo"), help="where the demo lives (default: ./demo)")
    p.add_argument("--bind", type=_bind, metavar="HOST:PORT", default="127.0.0.1:8080")
    p.set_defaults(handler=cmd_demo)


def cmd_serve(ctx, args) -> int:
    from web.server import serve

    if args.unlock_screen:  # the appliance's unit: a locked box waits for its passphrase
        from device.service import Appliance

        appliance = Appliance(ctx.data_dir, ctx.config, env=ctx.env)
        appliance.start()
        return serve(None, ctx.config, args.bind or ctx.config.web.bind, appliance=appliance)
    store = ctx.store  # unlock before serving: a wrong key fails here, in one line
    return serve(store, ctx.config, args.bind or ctx.config.web.bind)


def cmd_demo(ctx, args) -> int:
    from device.demo import ensure_demo
    from web.server import serve

    store = ensure_demo(args.dir, ctx.config)
    print(f"demo data dir {store.data_dir}; review UI on http://{args.bind}/", flush=True)
    return serve(store, ctx.config, args.bind)
