"""Configuration: YAML → validated, frozen objects. Reads one file; knows nothing of stages.

Every problem is reported with the key path it concerns (`sources[2].topics[0]: unknown
topic 'wrld'`), all problems at once. Relative paths (storage, output dir, local
sources) are resolved against the config file's directory, so the daemon behaves the
same whatever its working directory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError

if TYPE_CHECKING:
    from lxml import etree

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2}
_SIZE_UNITS |= {"gb": 1024**3, "gib": 1024**3}
TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def parse_duration(value: object) -> float:
    """`500ms`, `20s`, `30m`, `2h`, `1d` → seconds. Bare numbers are refused: the unit
    is what makes a config readable."""
    if isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        if seconds > 0:
            return seconds
        raise ValueError(f"duration must be positive, got {value!r}")
    raise ValueError(f"invalid duration {value!r}: write it like 500ms, 20s, 30m, 2h or 1d")


def parse_size(value: object) -> int:
    """`512KB`, `10MB` → bytes (binary multiples: 1KB = 1024 bytes)."""
    if isinstance(value, str) and (match := _SIZE.match(value)):
        size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
        if size > 0:
            return size
        raise ValueError(f"size must be positive, got {value!r}")
    raise ValueError(f"invalid size {value!r}: write it like 512KB or 10MB")


def compile_regex(value: object) -> re.Pattern[str]:
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a regular expression as a string, got {value!r}")
    try:
        return re.compile(value)
    # Not only re.error: a repeat count past 2**32 - 2 (`a{99999999999}`) overflows, and
    # groups nested a thousand deep exhaust the recursion of re's parser.
    except (re.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None


def check_selector(value: object) -> str:
    """A CSS selector that compiles to XPath, as `clean.filters.compile_selector` will
    compile it in a worker process (both through `css_xpath`)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a CSS selector as a string, got {value!r}")
    css_xpath(value)
    return value


def css_xpath(selector: str) -> etree.XPath:
    """A CSS selector as an XPath evaluator over an HTML tree; ValueError if invalid.

    HTMLTranslator: element names match case-insensitively, as lxml's HTML parser
    lower-cases them."""
    # Imported here: only a config with `remove` rules loads lxml in the polling process.
    import cssselect
    from lxml import etree

    try:
        xpath = etree.XPath(cssselect.HTMLTranslator().css_to_xpath(selector))
        xpath(etree.Element("p"))  # a namespace prefix (`ns|a`) fails only when run
    except (cssselect.SelectorError, etree.XPathError) as exc:
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from None
    return xpath


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Regex = Annotated[
    re.Pattern[str],
    BeforeValidator(compile_regex),
    PlainSerializer(lambda p: p.pattern, return_type=str),
]
Selector = Annotated[str, BeforeValidator(check_selector)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


FILTER_FIELDS = ("title", "content", "author", "category")


class Filter(_Frozen):
    """One `keep` or `block` item: matches an entry when every field given matches
    (re.search; `category` matches when any of the entry's categories does)."""

    title: Regex | None = None
    content: Regex | None = None  # the cleaned content as plain text
    author: Regex | None = None  # an entry without an author never matches
    category: Regex | None = None

    @model_validator(mode="before")
    @classmethod
    def _is_mapping(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a mapping of {', '.join(FILTER_FIELDS)}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Filter:
        if all(getattr(self, name) is None for name in FILTER_FIELDS):
            raise ValueError(f"empty filter: give one or more of {', '.join(FILTER_FIELDS)}")
        return self


class Rules(_Frozen):
    """Operator cleaning rules; global ones apply to every source, before its own."""

    drop_blocks: tuple[Regex, ...] = ()  # a leaf block whose text matches (re.search) is removed
    title_strip: tuple[Regex, ...] = ()  # every match is removed from the title
    remove: tuple[Selector, ...] = ()  # elements matching a CSS selector are removed
    keep: tuple[Filter, ...] = ()  # if any, an entry must match one to be published
    block: tuple[Filter, ...] = ()  # an entry matching one is never published (wins over keep)

    def __add__(self, other: Rules) -> Rules:
        return Rules(
            drop_blocks=self.drop_blocks + other.drop_blocks,
            title_strip=self.title_strip + other.title_strip,
            remove=self.remove + other.remove,
            keep=self.keep + other.keep,
            block=self.block + other.block,
        )


class Topic(_Frozen):
    title: str = Field(min_length=1)
    description: str | None = None


class Source(_Frozen):
    url: str
    topics: tuple[str, ...] = Field(min_length=1)
    name: str | None = None
    interval: Duration | None = None
    rules: Rules = Rules()
    full_text: StrictBool = False  # fetch each entry's article page (see `FullText`)
    learn: StrictBool = True  # learn this source's recurring boilerplate (see `Learning`)

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        return check_source_url(url)

    @property
    def is_local(self) -> bool:
        return not self.url.startswith(("http://", "https://"))


class Output(_Frozen):
    dir: Path = Path("feeds")
    base_url: str = "http://127.0.0.1:8080/"
    entries: int = Field(default=50, ge=1, le=10_000)
    author: str = Field(default="aggregator", min_length=1)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an absolute http(s) URL, got {url!r}")
        return url if url.endswith("/") else url + "/"


class Poll(_Frozen):
    interval: Duration = 1800.0
    timeout: Duration = 20.0  # total deadline for one fetch, body included
    connect_timeout: Duration = 10.0
    max_bytes: Size = 10 * 1024 * 1024  # applied after decompression
    workers: int = Field(default=16, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=64)
    host_spacing: Duration | None = 1.0
    max_redirects: int = Field(default=10, ge=0, le=30)
    processes: int | None = Field(default=None, ge=0, le=64)  # parser processes; None = cores
    # Sources without their own interval follow the rhythm of their entries, polled
    # at half the usual gap between them, within these bounds (which also cap how far
    # a server's or feed's freshness hints may push a poll).
    adapt: StrictBool = True
    min_interval: Duration = 300.0
    max_interval: Duration = 86400.0

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Poll:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval is longer than max_interval")
        return self

    @field_validator("host_spacing", mode="before")
    @classmethod
    def _spacing_may_be_zero(cls, value: object) -> object:
        return None if value in (0, "0", "0s", "0ms") else value


class FullText(_Frozen):
    """Article fetches for sources with `full_text: true`."""

    timeout: Duration = 15.0  # total deadline for one article, redirects and body included
    max_bytes: Size = 5 * 1024 * 1024  # applied after decompression
    # Article URLs come from whoever writes the feed: only public addresses are fetched
    # unless the operator says otherwise (a guard against server-side request forgery).
    allow_private: StrictBool = False


class Learning(_Frozen):
    """Learned per-source boilerplate: blocks, sentence runs at the head or tail of
    blocks, and title prefixes/suffixes that recur across a source's recent entries."""

    enabled: StrictBool = True
    min_entries: int = Field(default=3, ge=2, le=1000)  # entries seen before anything is learned
    min_support: int = Field(default=3, ge=2, le=1000)  # entries a pattern must occur in
    min_share: float = Field(default=0.5, gt=0, le=1)  # ...and this share of those remembered
    max_removed_share: float = Field(default=0.5, gt=0, lt=1)  # of an entry's text, at most
    window: int = Field(default=60, ge=3, le=1000)  # entries remembered per source


class Dedupe(_Frozen):
    """Duplicate detection. Exact copies (same cleaned text) and copies under one
    article URL are always merged; near-duplicates only when `near` is on."""

    scope: Literal["topic", "global"] = "topic"  # one entry per story per topic, or overall
    near: StrictBool = True  # near-duplicates: MinHash candidates, verified by shingles
    threshold: float = Field(default=0.5, gt=0, le=1)  # Jaccard bar for long texts
    min_words: int = Field(default=50, ge=50, le=10_000)  # shorter texts never near-match
    window: Duration = 72 * 3600.0  # near-duplicates must be first seen this close


class Server(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class Config(_Frozen):
    storage: str = "sqlite:///data/aggregator.db"
    output: Output = Output()
    topics: dict[str, Topic] = Field(default_factory=dict)
    sources: tuple[Source, ...] = ()
    poll: Poll = Poll()
    server: Server = Server()
    rules: Rules = Rules()
    full_text: FullText = FullText()
    learning: Learning = Learning()
    dedupe: Dedupe = Dedupe()
    base_dir: Path = Field(default=Path("."), exclude=True)

    @property
    def output_dir(self) -> Path:
        return _resolve(self.base_dir, self.output.dir)

    @property
    def storage_url(self) -> str:
        """The SQLAlchemy URL with a relative SQLite path made absolute."""
        prefix = "sqlite:///"
        if self.storage.startswith(prefix) and not self.storage.startswith(prefix + "/"):
            path = self.storage[len(prefix) :]
            if path and path != ":memory:":
                return prefix + str(_resolve(self.base_dir, Path(path)))
        return self.storage

    def source_location(self, source: Source) -> str:
        """The URL or absolute file path to fetch for a source."""
        if not source.is_local:
            return source.url
        path = source.url.removeprefix("file://")
        return str(_resolve(self.base_dir, Path(path)))

    def interval_of(self, source: Source) -> float:
        return source.interval if source.interval is not None else self.poll.interval

    def rules_of(self, source: Source) -> Rules:
        return self.rules + source.rules

    def self_url(self, topic_id: str) -> str:
        return f"{self.output.base_url}feeds/{topic_id}.xml"


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def check_source_url(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValueError("must be an http(s) URL or a local file path")
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            if not parts.path:
                raise ValueError(f"file URL without a path: {url!r}")
            return url
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"unsupported scheme {parts.scheme!r} in {url!r}: use http(s)")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"invalid port in {url!r}") from None
        if not parts.hostname or port == 0:
            raise ValueError(f"URL without a host: {url!r}")
        return url
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?![\\/])", url):
        raise ValueError(f"not a URL or a path: {url!r}")
    return url


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(error.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def _cross_checks(config: Config) -> list[str]:
    problems = []
    for topic_id in config.topics:
        if not TOPIC_ID.match(topic_id):
            problems.append(
                f"topics.{topic_id}: invalid topic id {topic_id!r}: use lower-case letters, "
                "digits, '-' and '_' (it names the feed file)"
            )
    seen: dict[str, int] = {}
    for i, source in enumerate(config.sources):
        for j, topic in enumerate(source.topics):
            if topic not in config.topics:
                problems.append(f"sources[{i}].topics[{j}]: unknown topic {topic!r}")
        if source.url in seen:
            problems.append(f"sources[{i}].url: duplicate of sources[{seen[source.url]}].url")
        seen.setdefault(source.url, i)
    return problems


def _raw_topic_references(data: Mapping[str, Any]) -> list[str]:
    """Unknown topic references, found on the raw data so they are reported together
    with the problems validation found elsewhere."""
    topics, sources = data.get("topics"), data.get("sources")
    if not isinstance(topics, Mapping) or not isinstance(sources, list):
        return []
    return [
        f"sources[{i}].topics[{j}]: unknown topic {topic!r}"
        for i, source in enumerate(sources)
        if isinstance(source, Mapping) and isinstance(source.get("topics"), list)
        for j, topic in enumerate(source["topics"])
        if isinstance(topic, str) and topic not in topics
    ]


def parse_config(data: object, base_dir: Path = Path(".")) -> Config:
    """Validate a mapping (as loaded from YAML) into a frozen Config, or raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"(top level): expected a mapping of keys, got {type(data).__name__}")
    if "base_dir" in data:
        raise ConfigError("base_dir: unknown key")
    try:
        config = Config.model_validate({**data, "base_dir": base_dir.resolve()})
    except ValidationError as exc:
        problems = [f"{format_loc(tuple(e['loc']))}: {_message(e)}" for e in exc.errors()]
        raise ConfigError(problems + _raw_topic_references(data)) from None
    if problems := _cross_checks(config):
        raise ConfigError(problems)
    return config


# The C loader (libyaml) when PyYAML has it: 4x faster on large source lists.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """PyYAML silently keeps the last of two equal keys; an operator never means that."""


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> dict[Any, Any]:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        keys.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_config(path: Path | str) -> Config:
    """Read and validate a config file; every failure is a ConfigError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config is not UTF-8: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    return parse_config(data, path.parent)
