"""Sensor, camera and scenario simulators (never imported by production code)."""
