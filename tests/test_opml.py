"""OPML in and out: `opml.read_opml`/`export_opml`, `aggregator import-opml` (config.yaml
edited with its comments kept) and `aggregator export-opml`."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.errors import ConfigError
from aggregator.opml import Subscription, export_opml, read_opml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>my reader</title></head><body>
  <outline text="Software" title="Software &amp; Open Source">
    <outline type="rss" text="LWN" xmlUrl="https://lwn.net/headlines/rss"
             htmlUrl="https://lwn.net/"/>
    <outline text="Deeper"><outline type="rss" text="Deep" XMLURL="https://deep.example/f"/>
    </outline>
  </outline>
  <outline text="News"><outline type="rss" text="Guardian" xmlUrl="https://g.example/world"/>
  </outline>
  <outline type="rss" title="Tagged" xmlUrl="https://tagged.example/feed" category="/a/world,tech"/>
  <outline type="rss" text="Loose" xmlUrl="https://loose.example/feed"/>
  <outline type="rss" text="Twice" xmlUrl="https://lwn.net/headlines/rss"/>
  <!-- a comment -->
</body></opml>"""


def test_read_what_feed_readers_write() -> None:
    found = {s.url: s for s in read_opml(READER_EXPORT)}
    assert list(found) == [
        "https://lwn.net/headlines/rss",
        "https://deep.example/f",
        "https://g.example/world",
        "https://tagged.example/feed",
        "https://loose.example/feed",
    ]  # document order, each URL once
    lwn = found["https://lwn.net/headlines/rss"]
    assert lwn == Subscription(lwn.url, "LWN", ("Software & Open Source",), "https://lwn.net/")
    assert found["https://deep.example/f"].categories == ("Software & Open Source", "Deeper")
    assert found["https://tagged.example/feed"].categories == ("world", "tech")
    assert found["https://loose.example/feed"].categories == ()


def test_export_reads_back() -> None:
    subs = [
        Subscription("https://a.example/feed", "A & B <news>", ("world", "tech"), "https://a/"),
        Subscription("examples/local.rss", None, ("world",)),
    ]
    data = export_opml(subs, NOW)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"<dateCreated>Wed, 05 Mar 2025 09:00:00 GMT</dateCreated>" in data
    back = read_opml(data)
    assert back[0] == subs[0]
    assert back[1] == Subscription("examples/local.rss", "examples/local.rss", ("world",))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not xml at all", "not XML"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML document"),
        (b"<opml version='2.0'><head/></opml>", "without a <body>"),
    ],
)
def test_what_is_not_opml_is_a_config_error(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_opml(data, "subs.opml")


@pytest.mark.parametrize("use", ["&x;", "&b;", "&x;&b;"])
def test_entities_are_never_expanded_nor_files_read(tmp_path: Path, use: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">'
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<opml version="2.0"><body><outline type="rss" text="{use}" '
        'xmlUrl="https://x.example/feed"/></body></opml>'
    ).encode()
    for encoded in (data, data.decode().encode("utf-16")):
        with pytest.raises(ConfigError, match="entity declarations are not allowed") as caught:
            read_opml(encoded)
        assert "TOP SECRET" not in str(caught.value)


# --- the commands -----------------------------------------------------------------


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path / "config.yaml"


@pytest.fixture
def opml(config_copy: Path) -> Path:
    path = config_copy.parent / "subs.opml"
    path.write_bytes(READER_EXPORT)
    return path


def test_import_adds_sources_and_keeps_the_file_as_written(
    config_copy: Path, opml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config_copy.read_text()
    assert main(["import-opml", "-c", str(config_copy), str(opml)]) == 0
    out = capsys.readouterr().out
    after = config_copy.read_text()
    # Every line written before is still there, in order; comments included.
    lines = iter(after.splitlines())
    assert all(any(line == kept for kept in lines) for line in before.splitlines())
    assert "# Real public feeds for real use" in after
    config = load_config(config_copy)
    added = {s.url: s for s in config.sources[3:]}
    assert added["https://lwn.net/headlines/rss"].topics == ("tech",)  # folder = title
    assert added["https://deep.example/f"].topics == ("tech",)
    assert added["https://tagged.example/feed"].topics == ("world", "tech")
    assert added["https://lwn.net/headlines/rss"].name == "LWN"
    assert "skipped https://g.example/world: no topic (its categories: News)" in out
    assert "skipped https://loose.example/feed" in out
    # Again, with a topic for the rest: only those two are new.
    assert main(["import-opml", "-c", str(config_copy), str(opml), "--topic", "world"]) == 0
    out = capsys.readouterr().out
    assert "2 added, 3 skipped" in out and "already a source" in out
    assert load_config(config_copy).sources[-1].url == "https://loose.example/feed"


def test_import_errors_change_nothing(
    config_copy: Path, opml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config_copy.read_bytes()
    assert main(["import-opml", "-c", str(config_copy), str(opml), "--topic", "nope"]) == 2
    assert "--topic nope: no such topic" in capsys.readouterr().err
    opml.write_bytes(b"<html>a web page</html>")
    assert main(["import-opml", "-c", str(config_copy), str(opml)]) == 2
    assert "not an OPML document" in capsys.readouterr().err
    assert main(["import-opml", "-c", str(config_copy), str(opml) + ".missing"]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = config_copy.parent / "bad.opml"
    bad.write_bytes(b'<opml><body><outline xmlUrl="ftp://no.example/f" text="x"/></body></opml>')
    assert main(["import-opml", "-c", str(config_copy), str(bad), "--topic", "world"]) == 2
    assert "ftp://no.example/f" in capsys.readouterr().err  # the key that was wrong
    assert config_copy.read_bytes() == before
    assert not list(config_copy.parent.glob(".config.yaml.*"))  # no temporary left


def test_export_lists_every_source_with_its_topics(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = config_copy.parent / "out.opml"
    assert main(["export-opml", "-c", str(config_copy), "-o", str(out)]) == 0
    config = load_config(config_copy)
    back = read_opml(out.read_bytes())
    assert [(s.url, s.categories) for s in back] == [(s.url, s.topics) for s in config.sources]
    assert back[0].title == config.sources[0].name


CORPUS_OPML = sorted((SHARED / "corpus" / "opml").glob("*"))


@pytest.mark.skipif(not CORPUS_OPML, reason="no corpus OPML at ../shared/corpus/opml")
def test_every_corpus_opml_file_is_imported_or_refused_naming_it(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The corpus's OPML files (issue 6: every file of the corpus is processed): each is
    imported into a valid config, or refused with an error naming it, the config
    untouched."""
    imported = 0
    for path in CORPUS_OPML:
        before = config_copy.read_bytes()
        known = len(load_config(config_copy).sources)
        code = main(["import-opml", "-c", str(config_copy), str(path), "--topic", "tech"])
        out, err = capsys.readouterr()
        if code == 0:
            imported += 1
            summary = out.splitlines()[-1]  # "N added, M skipped; …" or "nothing added; …"
            added = 0 if summary.startswith("nothing added") else int(summary.split()[0])
            assert len(load_config(config_copy).sources) == known + added, path.name
        else:
            assert code == 2 and str(path) in err, (path.name, err)
            assert config_copy.read_bytes() == before, path.name
    assert imported >= len(CORPUS_OPML) // 2  # most are subscription lists
    assert len(load_config(config_copy).sources) > 3
