"""MQTT publishing of events, staff alerts and component status."""
