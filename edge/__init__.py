"""o2o-edge: the store-side service (RFID, vision, fusion, tablets, alerts, replay)."""

__version__ = "0.1.0"
