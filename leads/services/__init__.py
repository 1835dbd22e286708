"""Writes to the mirror, shared by the webhook appliers and the snapshot applier."""
