"""Role names the deployment rules refer to (the same strings as lfr_platform.auth's matrix)."""

AUTHORISING_OFFICER = "authorising_officer"
SILVER_COMMANDER = "silver_commander"
# Commands the platform sends itself (the window-expiry scheduler, event-driven reactions).
SYSTEM = "system"
# Force IT: runs the platform (e.g. rotates the master key); never sees biometric images.
ADMIN = "admin"
