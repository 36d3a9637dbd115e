"""The service layer: what the HTTP API (and the command line) may ask of a running edge.

It talks to the store's state only through the owner loop (:mod:`edge.runtime.owner`), reads
the drivers' own counters, and returns plain snapshots; turning them into public models is the
API's job (:mod:`edge.api.presenters`). See docs/architecture.md.
"""
