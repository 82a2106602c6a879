"""Tests of the monitor service."""
