"""Importers: evidence that arrives as files (exports from other tools) rather than from the network."""
