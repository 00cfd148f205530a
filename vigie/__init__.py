"""Wiring: the command line and the services that drive the pure fusion core."""
