"""aggregator: polls feeds, cleans and deduplicates entries, republishes per-topic Atom feeds."""

__version__ = "0.1.0"
HOMEPAGE = "https://github.com/aggregator-project/aggregator"
USER_AGENT = f"aggregator/{__version__} (+{HOMEPAGE})"
