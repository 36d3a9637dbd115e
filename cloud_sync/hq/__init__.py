"""Headquarters backend (`o2o-hq run`): ingestion, membership, downlink, reports. See docs/hq.md."""
