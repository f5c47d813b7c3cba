"""Rules every stage applies alike to what inputs say, so sources and extraction share them without importing
each other: canonical article URLs (``urls``), checked publication times (``dates``), clean paragraphs
(``cleaning``) and word tokens in every script (``tokens``)."""
