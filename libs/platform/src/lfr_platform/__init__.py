"""Shared mechanisms of the LFR platform: event store, messaging, auth, telemetry, crypto, settings.

Services import from here; they never re-implement these mechanisms.
"""
