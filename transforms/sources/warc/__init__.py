"""WARC files (CC-NEWS and other web archives) as a source: record logic, the Beam stage, CC-NEWS paths."""
