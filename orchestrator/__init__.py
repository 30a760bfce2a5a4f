"""Federange orchestrator: the federation layer over national cyber ranges."""

__version__ = "0.1.0"
