"""The Federange scenario format: models, validation, footprint, importers. Data lives beside it."""
