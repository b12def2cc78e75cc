"""Config validation: every problem names its key path; every key is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from aggregator.config import Config, ConfigError, Rules, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]


def base(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "topics": {"world": {"title": "World"}, "tech": {"title": "Tech"}},
        "sources": [
            {"url": "https://a.example/feed.xml", "topics": ["world"]},
            {"url": "http://b.example:8080/rss", "topics": ["world", "tech"]},
            {"url": "examples/local.xml", "topics": ["tech"]},
        ],
    }
    data.update(overrides)
    return data


def with_source(index: int, **changes: Any) -> dict[str, Any]:
    data = base()
    data["sources"][index] = {**data["sources"][index], **changes}
    return data


INVALID = {
    "unknown topic reference": (
        with_source(2, topics=["wrld"]),
        "sources[2].topics[0]: unknown topic 'wrld'",
    ),
    "unknown top-level key": (base(colour="blue"), "colour: unknown key"),
    "unknown source key": (with_source(0, intervall="1h"), "sources[0].intervall: unknown key"),
    "bad scheme": (with_source(1, url="ftp://b.example/rss"), "sources[1].url: unsupported scheme"),
    "URL without host": (with_source(0, url="https:///feed"), "sources[0].url: URL without a host"),
    "bad port": (with_source(0, url="http://a.example:99999/"), "sources[0].url: invalid port"),
    "missing topics": (
        {"topics": {"w": {"title": "W"}}, "sources": [{"url": "https://a.example/"}]},
        "sources[0].topics: required key is missing",
    ),
    "empty topics": (with_source(0, topics=[]), "sources[0].topics:"),
    "bad duration unit": (with_source(0, interval="30x"), "sources[0].interval: invalid duration"),
    "bare number duration": (base(poll={"interval": 30}), "poll.interval: invalid duration"),
    "negative duration": (base(poll={"timeout": "-5s"}), "poll.timeout: invalid duration"),
    "bad size": (base(poll={"max_bytes": "ten megabytes"}), "poll.max_bytes: invalid size"),
    "bad regex in source rules": (
        with_source(0, rules={"drop_blocks": ["(unclosed"]}),
        "sources[0].rules.drop_blocks[0]: invalid regular expression '(unclosed'",
    ),
    # Found by tests/test_fuzz.py: re.compile raises these, not re.error, and they
    # escaped parse_config as themselves.
    "regex repeat count overflows": (
        base(rules={"drop_blocks": ["a{99999999999}"]}),
        "rules.drop_blocks[0]: invalid regular expression 'a{99999999999}': the repetition",
    ),
    "regex nested too deep": (
        with_source(0, rules={"title_strip": ["(" * 1000 + ")" * 1000]}),
        "sources[0].rules.title_strip[0]: invalid regular expression '(((",
    ),
    "bad global title regex": (
        base(rules={"title_strip": ["ok", "[z-a]"]}),
        "rules.title_strip[1]: invalid regular expression",
    ),
    "invalid CSS selector": (
        with_source(1, rules={"remove": ["div.share", "div["]}),
        "sources[1].rules.remove[1]: invalid CSS selector 'div[': Expected ident",
    ),
    "empty CSS selector": (
        base(rules={"remove": [""]}),
        "rules.remove[0]: invalid CSS selector '': Expected selector",
    ),
    "pseudo-element selector": (
        base(rules={"remove": ["p::after"]}),
        "rules.remove[0]: invalid CSS selector 'p::after': Pseudo-elements are not supported",
    ),
    # Found by tests/test_fuzz.py: it compiled, then failed in every worker's clean stage.
    "selector with a namespace prefix": (
        base(rules={"remove": ["ns|a"]}),
        "rules.remove[0]: invalid CSS selector 'ns|a': Undefined namespace prefix",
    ),
    "selector not a string": (
        base(rules={"remove": [["div"]]}),
        "rules.remove[0]: expected a CSS selector as a string",
    ),
    "unknown filter field": (
        base(rules={"block": [{"titel": "^Ad"}]}),
        "rules.block[0].titel: unknown key",
    ),
    "bad filter regex": (
        with_source(0, rules={"keep": [{"title": "ok"}, {"title": "(unclosed"}]}),
        "sources[0].rules.keep[1].title: invalid regular expression '(unclosed'",
    ),
    "bad category regex": (
        base(rules={"keep": [{"title": "ok", "category": "[z-a]"}]}),
        "rules.keep[0].category: invalid regular expression '[z-a]'",
    ),
    "empty filter": (
        with_source(2, rules={"block": [{}]}),
        "sources[2].rules.block[0]: empty filter: give one or more of title, content,",
    ),
    "filter of nulls": (base(rules={"keep": [{"author": None}]}), "rules.keep[0]: empty filter"),
    "filter not a mapping": (
        base(rules={"block": ["Sponsored"]}),
        "rules.block[0]: expected a mapping of title, content, author, category, got 'Sponsored'",
    ),
    "full_text not a bool": (
        with_source(0, full_text="sometimes"),
        "sources[0].full_text: Input should be a valid boolean",
    ),
    "bad full_text timeout": (
        base(full_text={"timeout": "15"}),
        "full_text.timeout: invalid duration '15'",
    ),
    "bad full_text size": (base(full_text={"max_bytes": "5"}), "full_text.max_bytes: invalid size"),
    "allow_private not a bool": (
        base(full_text={"allow_private": "maybe"}),
        "full_text.allow_private: Input should be a valid boolean",
    ),
    "unknown full_text key": (base(full_text={"retries": 2}), "full_text.retries: unknown key"),
    "unknown dedupe scope": (
        base(dedupe={"scope": "everywhere"}),
        "dedupe.scope: Input should be 'topic' or 'global'",
    ),
    "dedupe threshold above 1": (base(dedupe={"threshold": 1.5}), "dedupe.threshold: Input should"),
    "dedupe min_words too small": (
        base(dedupe={"min_words": 10}),
        "dedupe.min_words: Input should",
    ),
    "bad dedupe window": (base(dedupe={"window": "3 days"}), "dedupe.window: invalid duration"),
    "dedupe near not a bool": (
        base(dedupe={"near": "yes please"}),
        "dedupe.near: Input should be a valid boolean",
    ),
    "workers out of range": (base(poll={"workers": 0}), "poll.workers:"),
    "bad base_url": (base(output={"base_url": "feeds.example.org"}), "output.base_url:"),
    "topic without title": (base(topics={"world": {}}), "topics.world.title: required key"),
    "bad topic id": (
        {"topics": {"World News": {"title": "W"}}, "sources": []},
        "topics.World News: invalid topic id",
    ),
    "duplicate source": (
        with_source(1, url="https://a.example/feed.xml", topics=["world"]),
        "sources[1].url: duplicate of sources[0].url",
    ),
    "not a mapping": (["sources"], "(top level): expected a mapping"),
}


@pytest.mark.parametrize("data, expected", INVALID.values(), ids=INVALID.keys())
def test_invalid_config_names_the_key(data: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, Path("/srv/agg"))
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_all_problems_reported_at_once() -> None:
    data = with_source(0, interval="soon", bogus=1)
    data["sources"][1]["topics"] = ["wrld"]
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert sorted(p.split(":")[0] for p in info.value.problems) == [
        "sources[0].bogus",
        "sources[0].interval",
        "sources[1].topics[0]",
    ]


VALID = {
    "durations": ({"interval": "500ms", "timeout": "2h"}, "interval", 0.5),
    "days": ({"interval": "1d"}, "interval", 86400.0),
    "size MB": ({"max_bytes": "10MB"}, "max_bytes", 10 * 1024 * 1024),
    "size KB": ({"max_bytes": "512KB"}, "max_bytes", 512 * 1024),
    "spacing off": ({"host_spacing": "0s"}, "host_spacing", None),
}


@pytest.mark.parametrize("poll, field, value", VALID.values(), ids=VALID.keys())
def test_valid_values(poll: dict[str, Any], field: str, value: object) -> None:
    config = parse_config(base(poll=poll))
    assert getattr(config.poll, field) == value


def test_defaults_and_resolution() -> None:
    config = parse_config(base(storage="sqlite:///data/x.db"), Path("/srv/agg"))
    assert config.poll.interval == 1800.0 and config.poll.per_host == 2
    assert config.poll.max_bytes == 10 * 1024 * 1024
    assert config.output_dir == Path("/srv/agg/feeds")
    assert config.storage_url == "sqlite:////srv/agg/data/x.db"
    assert config.source_location(config.sources[2]) == "/srv/agg/examples/local.xml"
    assert config.source_location(config.sources[0]) == "https://a.example/feed.xml"
    assert config.self_url("world") == "http://127.0.0.1:8080/feeds/world.xml"


def test_config_is_frozen() -> None:
    config = parse_config(base())
    with pytest.raises(ValueError):
        config.poll.workers = 3  # type: ignore[misc]


def test_rules_are_compiled_and_combined() -> None:
    config = parse_config(
        with_source(0, rules={"title_strip": [r"^Site: "]}) | {"rules": {"drop_blocks": ["^Ad$"]}}
    )
    rules = config.rules_of(config.sources[0])
    assert isinstance(rules, Rules)
    assert [p.pattern for p in rules.drop_blocks] == ["^Ad$"]
    assert rules.title_strip[0].sub("", "Site: Title") == "Title"


def test_filters_selectors_and_full_text() -> None:
    data = with_source(
        1,
        full_text=True,
        rules={"remove": ["p.byline"], "keep": [{"author": "Lee"}], "block": [{"title": "^Ad"}]},
    )
    data["rules"] = {
        "remove": ["div.share", "#comments"],
        "keep": [{"title": "(?i)budget", "category": "^Politics$"}],
    }
    data["full_text"] = {"timeout": "5s", "max_bytes": "1MB", "allow_private": True}
    config = parse_config(data)
    rules = config.rules_of(config.sources[1])
    assert rules.remove == ("div.share", "#comments", "p.byline")
    assert [(f.title, f.author) for f in rules.keep] == [
        (re.compile("(?i)budget"), None),
        (None, re.compile("Lee")),
    ]
    assert rules.keep[0].category == re.compile("^Politics$")
    assert [f.title for f in rules.block] == [re.compile("^Ad")]
    assert [s.full_text for s in config.sources] == [False, True, False]
    assert (config.full_text.timeout, config.full_text.max_bytes) == (5.0, 1024 * 1024)
    assert config.full_text.allow_private is True


def test_dedupe_defaults_and_values() -> None:
    default = parse_config(base()).dedupe
    assert (default.scope, default.near, default.threshold) == ("topic", True, 0.5)
    assert (default.min_words, default.window) == (50, 72 * 3600.0)
    chosen = parse_config(base(dedupe={"scope": "global", "near": False, "window": "1d"})).dedupe
    assert (chosen.scope, chosen.near, chosen.window) == ("global", False, 86400.0)


def test_full_text_defaults() -> None:
    config = parse_config(base())
    assert config.full_text.timeout == 15.0
    assert config.full_text.max_bytes == 5 * 1024 * 1024
    assert config.full_text.allow_private is False
    assert not any(source.full_text for source in config.sources)
    assert config.rules_of(config.sources[0]) == Rules()


def test_load_config_reports_yaml_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("topics: {world: {title: W}\nsources: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path)


def test_duplicate_yaml_keys_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("topics:\n  world: {title: A}\n  world: {title: B}\n")
    with pytest.raises(ConfigError, match="duplicate key 'world'"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")


def test_bundled_config_is_valid() -> None:
    config = load_config(ROOT / "config.yaml")
    assert config.sources and config.topics
    for source in config.sources:
        assert Path(config.source_location(source)).is_file()


def _yaml_examples() -> list[str]:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    return re.findall(r"^```yaml\n(.*?)^```", doc, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("example", _yaml_examples())
def test_documented_examples_are_valid(example: str) -> None:
    data = yaml.safe_load(example)
    data.setdefault("topics", {"world": {"title": "World"}})
    assert parse_config(data).sources


def _keys(model: type[BaseModel], prefix: str) -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = f"{prefix}{name}"
        keys.append(key)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, key + ".")
        elif get_origin(annotation) is tuple:  # a list of mappings: rules.keep[].title
            item = get_args(annotation)[0]
            if isinstance(item, type) and issubclass(item, BaseModel):
                keys += _keys(item, key + "[].")
    return keys


def test_every_key_is_documented() -> None:
    from aggregator.config import Source, Topic

    doc = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", doc, flags=re.MULTILINE))
    keys = _keys(Config, "") + _keys(Topic, "topics.<id>.") + _keys(Source, "sources[].")
    # A source's own rules take the same keys as the global `rules`.
    keys = [k.replace("sources[].rules.", "rules.") for k in keys]
    # `keep` and `block` items take the same keys, documented once as `<filter>.…`.
    keys = [re.sub(r"^rules\.(keep|block)\[\]\.", "<filter>.", k) for k in keys]
    missing = [k for k in keys if k not in documented]
    assert not missing, f"undocumented config keys: {missing}"
