"""Capture format, recorder, replayer and store simulator (hardware in the loop)."""
