"""The gallery authority: the agency's watchlists and what it sends its units (issue 16).

    agency.py     the agency's Ed25519 publishing key (systemd credential or key file, never in
                  the database) and the sealing of images at rest derived from it
    authority.py  watchlists in the central store: enroll, erase (an erasure order), the log chain
    publish.py    signed, encrypted bundles (full or delta) and erasure order files
    status.py     per unit the version held; per order who applied it and who is outstanding
    delivery.py   transport: MQTT (retained manifest per fleet, chunks, acks)
    commands.py   ``fieldface central gallery ...`` and ``fieldface central agency-key``

The wire format and the unit's applier live with the unit (device/gallery/bundle.py,
device/gallery/central.py): central may use the unit's shared pieces, never the reverse.
"""
