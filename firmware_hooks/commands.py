"""``hooks run``, ``hooks fire``, ``hooks seal-key``: the hooks service and its tools."""

from __future__ import annotations

import os
from pathlib import Path

from device.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("hooks", help="tamper switch, panic and shutdown buttons, LEDs, integrator hook scripts")
    hsub = p.add_subparsers(dest="hooks_command", metavar="ACTION")
    hsub.required = True
    r = hsub.add_parser("run", help="watch the switches and buttons and run hook scripts until stopped")
    r.add_argument("--runtime-dir", type=Path, metavar="DIR",
                   help="shared runtime folder (default: hooks.runtime_dir, /run/fieldface)")  # fmt: skip
    r.set_defaults(handler=cmd_run)
    f = hsub.add_parser("fire", help="run the scripts of one event now (to try a site's hooks)")
    f.add_argument("event", help="tamper, lock, unlock, wipe, sync-ok, ready or shutdown")
    f.set_defaults(handler=cmd_fire)
    s = hsub.add_parser("seal-key", help="seal a key file as the TPM2-bound systemd credential for unattended boot")
    s.add_argument("key_file", type=Path, help="the secret to seal (delete it afterwards)")
    s.add_argument("--out", type=Path, default=Path("/etc/credstore.encrypted/fieldface-key"), metavar="PATH")
    s.add_argument("--with-key", default="tpm2", help="systemd-creds --with-key (default: tpm2)")
    s.set_defaults(handler=cmd_seal_key)


def cmd_run(ctx, args) -> int:
    import threading

    from device.service import Appliance, stop_on_signals
    from firmware_hooks.daemon import HooksDaemon

    # Not $RUNTIME_DIRECTORY: that is this unit's private folder, and the searches that light the
    # LED run in the web process, which writes to the shared one (hooks.runtime_dir).
    runtime = args.runtime_dir or ctx.config.hooks.runtime_dir
    stop = threading.Event()
    restore = stop_on_signals(stop)
    try:
        daemon = HooksDaemon(Appliance(ctx.data_dir, ctx.config, env=ctx.env), ctx.config, runtime_dir=runtime)
        return daemon.run(stop)
    finally:
        restore()


def cmd_fire(ctx, args) -> int:
    from firmware_hooks.hookdirs import EVENTS, event_hooks

    if args.event not in EVENTS:
        raise UsageError(f"hooks fire: unknown event {args.event!r} (known: {', '.join(EVENTS)})")
    results = event_hooks(ctx.config.hooks).run(args.event, {"reason": "manual"})
    for result in results:
        print(f"{result.path}: exit {result.returncode}" + (f": {result.output}" if result.output else ""))
    if not results:
        print(f"no executable scripts in {ctx.config.hooks.dir / ('on-' + args.event)}")
    return 0 if all(r.returncode == 0 for r in results) else 1


def cmd_seal_key(ctx, args) -> int:
    from firmware_hooks.unseal import seal

    seal(args.key_file, args.out, name=ctx.config.keys.credential_name, with_key=args.with_key)
    print(f"sealed {args.key_file} to {args.out} ({args.with_key}); delete the plaintext: shred -u {args.key_file}")
    return 0 if os.path.exists(args.out) else 1
