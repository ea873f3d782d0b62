"""Code that touches the unit's hardware: case switch, buttons, LEDs, key sealing, hook scripts.

Each piece sits behind a small interface with a disabled variant (no pin configured, or
``gpio.type = "disabled"``); gpiozero is imported only in ``gpio.py``, when pins are made. The
pieces call device services (``device.service.Appliance``: lock, unlock, wipe; the audit log);
``daemon.HooksDaemon`` wires them together for ``fieldface hooks run``.
"""
