"""Pydantic schemas of the HTTP API, with explicit to_domain()/from_domain() conversions."""
