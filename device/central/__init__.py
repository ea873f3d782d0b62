"""The central side of the fleet: everything that runs at the agency, not on a unit.

    store.py      the central store (SQLite or PostgreSQL): schema in migrations/, append-only
    roles.py      PostgreSQL writer / auditor roles
    verifier.py   the one verifier of units' chains, epochs included, for every transport
    mqtt.py       transport 1: the MQTT receiver (`fieldface audit receive`)
    media.py      transport 2: audit exports from removable media (`fieldface central receive-file`)
    units.py      every registered unit's status (`fieldface central units`)
    check.py      re-verification of the whole store (`fieldface central verify`)
    commands.py   `fieldface central ...`
    gallery/      the gallery authority: watchlists, signed bundles, erasure orders, their status

The rule that keeps the unit small and honest: nothing outside this package imports it (the CLI
names its command module as a string; tests/central/test_layout.py checks). The central side
may use the unit's shared pieces (device/audit for entries and signatures, device/sync/protocol
for the wire format; device/gallery/bundle.py for the bundle format). The console (issue 17: web
app reading the store through the auditor role) builds here too.
"""
