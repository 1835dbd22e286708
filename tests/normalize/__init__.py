"""Tests of leads.normalize: pure parsing of Kartra payloads, no database."""
