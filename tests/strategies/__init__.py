"""Test helper: Hypothesis strategies for hostile inputs; asserts nothing.

`html_fragments()` (tag soup mixing allowed and dangerous markup), `feed_documents()`
(RSS 2.0, Atom 1.0 and RSS 1.0 as bytes, with junk fields, mismatched encodings and
corrupted bytes), `config_mappings()` (near-valid configs: most keys right, some of
the wrong type or value) and `rules_configs()` (valid but for the operator's rules).
Sizes are kept small: a property over them runs a hundred examples in about a second.
Used by `tests/test_fuzz.py`; docs/fuzzing.md says how to run them longer.
"""

from .config import config_mappings, rules_configs
from .markup import feed_documents, html_fragments, texts, urls

__all__ = ["config_mappings", "feed_documents", "html_fragments", "rules_configs", "texts", "urls"]
