"""Sitemaps as a source: parsing (indexes, urlsets, Google News), discovery, state, the Beam stage."""
