"""Word material and the prose writer of the dedupe benchmark; it knows nothing of feeds.

All words, names and templates here were written for this benchmark; nothing is copied
from real articles. A `Writer` is bound to one story's *frame* (its people, places,
organisations and key nouns), so a story reads as being about something and its
follow-ups can reuse the same names. Templates keep their fixed word runs short (three
words or fewer between slots) so that unrelated stories share few 5-word shingles.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def words(text: str) -> tuple[str, ...]:
    """The space-separated words of `text`: keeps long word lists compact."""
    return tuple(text.split())


# topic: (nouns, adjectives, places, organisations, roles)
TOPICS: dict[str, tuple[str, str, str, str, str]] = {
    "council": (
        "budget ward bylaw hearing motion committee library park tram levy zoning permit "
        "depot crossing pavement allotment bin roadworks playground license rent cycleway "
        "housing reservoir bridge market footpath streetlight surgery",
        "local contested unanimous delayed revised municipal rural urban costly disputed "
        "temporary overdue popular divisive modest",
        "Riverside, Eastgate, Millbrook, Harbourside, Northfield, Old Town, Ashby, Kelton",
        "the city council, the planning board, the residents' association, the county office, "
        "the transport authority, the housing trust",
        "councillor, ward officer, planning chair, deputy mayor, finance lead, clerk",
    ),
    "business": (
        "merger bond dividend lender ledger audit forecast margin quarter deposit tariff "
        "portfolio warehouse supplier factory payroll brand buyout shareholder contract "
        "loan inventory franchise startup retailer stake invoice pension",
        "cautious volatile quarterly steady sharp weaker stronger annual hostile lean "
        "profitable indebted private listed regional",
        "Frankfurt, Singapore, Zurich, Chicago, Mumbai, Luxembourg, Rotterdam, Osaka",
        "Halvorsen Group, Meridan Holdings, Kestrel Bank, Pardo Logistics, Unity Mutual, "
        "Arkwell Foods",
        "chief executive, analyst, finance director, chair, economist, founder",
    ),
    "technology": (
        "compiler database release kernel library protocol parser scheduler benchmark "
        "cache index migration runtime module chip server router patch firmware browser "
        "sensor laptop outage datacentre update password handset cable",
        "concurrent stable faster smaller legacy experimental portable strict encrypted "
        "open proprietary buggy secure wireless refurbished",
        "Berlin, Lisbon, Austin, Toronto, Bangalore, Tallinn, Dublin, Taipei",
        "Corvane Systems, Lumo Labs, Tessellate, Northwind Networks, Quillbyte, Ardent Micro",
        "engineer, product lead, researcher, maintainer, security chief, developer",
    ),
    "science": (
        "telescope comet nebula orbit observatory spectrum eclipse crater galaxy satellite "
        "asteroid meteor planet detector fossil glacier specimen genome enzyme isotope "
        "reef probe sediment laser microbe volcano sample dataset",
        "faint distant bright frozen rocky massive southern northern infrared ancient "
        "microscopic unexpected rare deep-sea airborne",
        "Atacama, Hawaii, La Palma, Namibia, Tasmania, Svalbard, Greenland, the Andes",
        "the national observatory, Halden University, the polar institute, the space agency, "
        "the marine lab, the geology survey",
        "astronomer, biologist, geologist, lead author, physicist, field researcher",
    ),
    "health": (
        "trial clinic vaccine patient dose ward nurse surgeon symptom therapy cohort scan "
        "registry outbreak pharmacy screening hospital ambulance waitlist diagnosis "
        "prescription midwife booster inhaler transplant bed infection",
        "chronic early acute mild randomised clinical paediatric elderly seasonal "
        "preventable costly understaffed contagious routine experimental",
        "Leiden, Boston, Geneva, Melbourne, Nairobi, Uppsala, Cork, Porto Alegre",
        "the health board, St Brigid's Hospital, the medicines agency, the nurses' union, "
        "the public health institute, the ambulance trust",
        "consultant, epidemiologist, nurse manager, health minister, GP, trial lead",
    ),
    "sport": (
        "striker goalkeeper derby stadium transfer penalty coach squad season final "
        "league fixture injury captain referee sprint relay marathon tournament medal "
        "peloton climb breakaway academy contract pitch trophy",
        "unbeaten relegated injured dominant young veteran tense scrappy late brilliant "
        "costly historic away home gritty",
        "Turin, Glasgow, Seville, Porto, Leipzig, Marseille, Bilbao, Lyon",
        "Harbour City FC, Northgate United, the national federation, Athletic Ventura, "
        "the cycling union, Redmoor Rovers",
        "manager, midfielder, coach, club captain, sporting director, winger",
    ),
    "climate": (
        "drought flood heatwave wildfire emissions turbine reservoir glacier forest "
        "wetland coastline levee harvest rainfall storm solar panel grid aquifer "
        "peatland carbon heatpump seawall dune river snowpack",
        "record parched flooded coastal renewable low-lying upland fragile severe "
        "unseasonal dry wet warming protected degraded",
        "Valencia, Bangladesh, the Sahel, Queensland, Alberta, the Rhine valley, Sicily, Chile",
        "the water authority, the met office, the environment agency, Greenleaf Energy, "
        "the farmers' union, the coastal trust",
        "hydrologist, climatologist, farmer, campaigner, energy minister, forester",
    ),
    "transport": (
        "railway timetable ferry airport runway tram bus route fare strike signal "
        "platform junction motorway toll freight terminal carriage locomotive depot "
        "ticket bridge tunnel cycleway harbour lorry interchange",
        "late cancelled overcrowded electric driverless regional overnight cheaper "
        "delayed busy quiet new ageing suspended expanded",
        "Lofoten, Kyoto, Zanzibar, Ljubljana, Cardiff, Gothenburg, Bologna, Ghent",
        "the rail operator, Skyline Air, the ferry company, the drivers' union, "
        "the port authority, Metrolink",
        "operations director, driver, union rep, transport secretary, commuter, pilot",
    ),
    "culture": (
        "album orchestra chorus quartet rehearsal concert melody tour festival label "
        "singer studio exhibition gallery novel poet museum theatre premiere sculpture "
        "mural opera archive manuscript sequel documentary memoir",
        "raw lush acoustic restless haunting sparse loud intimate brassy sold-out "
        "experimental overlooked celebrated posthumous restored",
        "Havana, Lagos, Montreal, Seoul, Bristol, Reykjavik, Krakow, Oaxaca",
        "the city gallery, Quarry Records, the arts council, the Royal Playhouse, "
        "the film institute, Lantern Books",
        "curator, conductor, novelist, director, critic, producer",
    ),
    "food": (
        "recipe bakery oven dough broth sauce kitchen harvest pepper lentil noodle pastry "
        "chef menu spice vineyard cheese orchard brewery fishery dumpling bread olive "
        "coffee tasting grain market",
        "smoky tender crisp seasonal fragrant bitter sweet slow rustic salty fermented "
        "organic heirloom spicy humble",
        "Oaxaca, Lyon, Naples, Penang, Tbilisi, Valencia, Hanoi, Puglia",
        "the growers' cooperative, Saltmarsh Dairy, the food standards office, "
        "Copper Pot Kitchens, the bakers' guild, Verde Farms",
        "chef, baker, farmer, food critic, winemaker, inspector",
    ),
}

FIRST = words(
    "Ada Bruno Chiara Dmitri Esme Farid Greta Hiro Imani Jonas Kalani Lotte Mateo Nia "
    "Oskar Priya Quentin Rosa Sami Tove Umar Vera Wen Xavier Yara Zoltan Amara Bilal "
    "Celine Dario Elif Femi Gideon Hana Ines Jun Keira Luis Mira Noor"
)
LAST = words(
    "Okafor Lindqvist Moreau Tanaka Ferreira Novak Quispe Haddad Brennan Sato Varga "
    "Achterberg Bianchi Castillo Dubois Eriksen Fonseca Gallo Horvath Iyer Jansen Kowalski "
    "Laine Mbeki Nakamura Ortega Petrov Rahman Schulz Takahashi Ueda Vidal Walsh Yilmaz "
    "Zielinski Abara Banerjee Costa Delgado Engel"
)
PAST = words(
    "approved rejected delayed expanded reviewed questioned blocked backed funded "
    "cancelled reopened measured tested replaced doubled rebuilt mapped traced "
    "challenged welcomed criticised scrapped announced confirmed postponed cut raised "
    "extended halted inspected audited defended paused revived trimmed overhauled"
)
PRESENT = words(
    "approves rejects delays expands reviews questions blocks backs funds cancels "
    "reopens tests replaces doubles rebuilds maps challenges welcomes scraps confirms "
    "postpones cuts raises extends halts defends pauses revives overhauls"
)
SAY = ("said", "added", "argued", "noted", "warned", "admitted", "insisted", "told reporters")
DAYS = words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS = words(
    "January February March April May June July August September October November December"
)
UNITS = words("month week year day")
# Words an editor might swap in for a word of the article (light edits).
SWAPS = words("largely broadly roughly nearly fully partly quickly quietly sharply widely")

# Fixed runs are at most three words long; {n}/{m}/{k} are nouns, {a} an adjective,
# {v} a past verb, {P} a full name, {S} a surname, {R} a role, {O}/{O2} organisations,
# {L} a place, {d} a weekday, {mo} a month, {x} a number, {y} a year, {q} a saying verb;
# {ns}/{ms}/{ks}/{Rs} are plurals, {s} a small number, {pc} a percentage, {dd} a day of month.
SENTENCES = (
    "{O} {v} the {a} {n} in {L} on {d}, {S} {q}.",
    "The decision follows {s} months of {a} argument over the {n}.",
    '"We {v} the {n} because the {m} left us little choice," said {P}, {R} at {O}.',
    "Figures shared with reporters show {pc} per cent of {ns} in {L} were {a} in {y}.",
    '{P}, who has {v} the {m} for {s} years, called the plan "{a} but overdue".',
    "Critics in {L} argue the {n} will cost {x} million more than {O} estimated in {mo}.",
    "{S} declined to say whether the {n} would be {v} before {mo}.",
    "The {a} {n} was first {v} in {y}, when {O} still ran the {m}.",
    "People living near the {n} say nobody {v} them about the {m}.",
    'A spokesperson for {O} described the {n} as "{a} and under review".',
    "By {d} evening {x} {ns} had been {v} across {L}.",
    "{P} {q} that the {a} {n} had {v} the {m} twice since {mo}.",
    "Officials expect a {a} {n} by {mo}, though {S} {q} the {m} could slip.",
    "The {n} now sits at the centre of a {a} row between {O} and {O2}.",
    "In {L} the {m} has already {v} {x} {ns}, according to {O2}.",
    "{S} {q} the {n} was never meant to replace the {a} {m}.",
    "Asked about the {a} {n}, {S} pointed to the {m} in {L}.",
    "Supporters of the {n} say it {v} {x} {ks} in its first {s} months.",
    "{O2} {v} a similar {n} in {y} and later {v} it.",
    "The {m} will be {v} again on {d}, when {P} returns to {L}.",
    "It is the {a} {n} {L} has seen since {y}, {S} {q}.",
    "Several {Rs} {v} the {m} privately, {s} people familiar with it said.",
    'For {P} the {n} is personal. "My {m} was {a} for {s} years," {S} said.',
    "A {a} {k} in {L} {v} the {n} after {x} {ms} were {v}.",
    "{O} has set aside {x} million for the {n} and {x} more for {ks}.",
    "Under the proposal, every {n} in {L} would be {v} by {mo} {y}.",
    "Even {O}, which {v} the {m} last {mo}, now backs the {a} {n}.",
    "The {n} remains {a}, and {S} {q} that {x} {ks} still wait.",
    "{P} spent {d} walking the {n} with {Rs} from {O2}.",
    "Across {L}, {a} {ms} have {v} the {n} for a {a} decade.",
    "What happens to the {m} next depends on {O} and the {a} {k}.",
    "The vote on the {n} is due on {d} {dd} {mo}.",
    "{S}, a {R}, {v} the {n} in a {a} letter to {O}.",
    "Nobody at {O} has {v} how the {a} {m} would be paid for.",
    "Earlier drafts of the {n} {v} the {k} in {L} entirely.",
    "Some {ks} in {L} have {v} their {ms}, {P} {q}.",
)
HEADLINES = (
    "{O} {V} {a} {n} in {L}",
    "{L} {n} {v} after {s}-{u} {m} row",
    "Why the {a} {n} in {L} matters",
    "{x} {ns} {v} as {O} weighs {m}",
    "{P} on the {n} that {v} {L}",
    "{a} {n} {v}: what it means for {L}",
    "Inside the {a} {m} behind {L}'s {n}",
    "{O} and {O2} clash over {L} {n}",
    "{L}: {n} {v} for {s} {u}s",
    "The {a} {n} nobody in {L} {v}",
)

CHANGES = (
    "Fixed a {a} {n} when the {m} was {v} (#{x}).",
    "Added {a} support for {ns} in the {m} module.",
    "The {n} is now {pc} per cent faster on {a} {ms}.",
    "Deprecated the {a} {m} option; use {n} instead.",
    "{S} {v} the {n} docs for {L} users.",
    "Dropped the {a} {k} shim ({x}).",
    "Removed a {a} {m} warning from the {n} (#{x}).",
)

# --- wrapper material -------------------------------------------------------------

WIRES = (("Wire A", "wire-a"), ("Wire B", "wire-b"), ("Northern Press", "npress"),
         ("Global Desk", "globaldesk"))  # fmt: skip
SITE_PREFIX = words("North Quiet Little Open Copper Second Far Blue Harbour Iron Bright Red")
SITE_WORD = words("Ledger Courier Dispatch Lantern Almanac Review Notebook Signal Gazette Post")
DATELINES = words("LONDON PARIS NAIROBI TOKYO LIMA OSLO CAIRO SYDNEY MADRID TORONTO")
PROJECTS = words(
    "Quillstack Tessera Larkspur Fathom Brindle Cobalt Kestrel Mirelle Pantograph Rivet "
    "Sorrel Tidewater Umbra Verdigris Wicket Yarrow Zephyr Anvil Bramble Cinder"
)
SHOW_WORDS = words("Slow Loud Open Deep Long Small Late Wide Odd Plain")
SHORT_TITLES = (
    "Chart of the day", "Photo of the day", "Quick links", "Worth reading", "Reading list",
    "Today's links", "Weekend reading", "Correction", "Quote of the day", "Listen",
)  # fmt: skip
SUBSCRIBE = "Subscribe on Apple Podcasts, Spotify or wherever you get your podcasts."
SHARE = ("Share: Facebook Twitter LinkedIn Email", "Share this: X · Facebook · WhatsApp")

_SLOT = re.compile(r"\{(\w+)\}")
_AN = re.compile(r"\b([Aa]) (?=[aeiou])")
_VOCAB = {
    topic: (words(nouns), words(adjectives), tuple(places.split(", ")), tuple(orgs.split(", ")))
    for topic, (nouns, adjectives, places, orgs, _) in TOPICS.items()
}
_POOLS = {"d": DAYS, "mo": MONTHS, "q": SAY, "u": UNITS}
_NUMBERS = {"x": (2, 480), "s": (2, 30), "pc": (2, 95), "dd": (1, 28), "y": (1978, 2024)}


def plural(noun: str) -> str:
    """The English plural of the nouns above (regular forms only)."""
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _compile(templates: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """Each template as (literal pieces, slot names): pieces interleave with slots."""
    compiled = []
    for template in templates:
        parts = _SLOT.split(template)
        compiled.append((tuple(parts[0::2]), tuple(parts[1::2])))
    return tuple(compiled)


_SENTENCES = _compile(SENTENCES)
_HEADLINES = _compile(HEADLINES)
_CHANGES = _compile(CHANGES)


@dataclass(frozen=True, slots=True)
class Frame:
    """What one story (and its follow-ups) is about: the names it keeps returning to."""

    topic: str
    people: tuple[tuple[str, str], ...]  # (full name, role)
    orgs: tuple[str, ...]
    places: tuple[str, ...]
    keys: tuple[str, ...]  # the story's key nouns


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def frame(rng: random.Random, topic: str) -> Frame:
    """A new frame on `topic`: 2-4 people, 2 organisations, 2 places, 4 key nouns."""
    nouns, _, places, orgs, roles = TOPICS[topic]
    role_list = roles.split(", ")
    people = tuple((person(rng), rng.choice(role_list)) for _ in range(rng.randint(2, 4)))
    pick = rng.sample
    return Frame(
        topic,
        people,
        tuple(pick(orgs.split(", "), 2)),
        tuple(pick(places.split(", "), 2)),
        tuple(pick(nouns.split(), 4)),
    )


class Writer:
    """Sentences, paragraphs, headlines and word-count-bounded articles for one frame."""

    def __init__(self, rng: random.Random, fr: Frame) -> None:
        self.rng, self.frame, self._random = rng, fr, rng.random
        self.nouns, self.adjectives, self.places, self.orgs = _VOCAB[fr.topic]

    def pick(self, seq: Sequence[T]) -> T:
        """A uniform choice from `seq`: `Random.choice` is the generator's hot spot."""
        return seq[int(self._random() * len(seq))]

    def _noun(self) -> str:
        return self.pick(self.frame.keys if self._random() < 0.5 else self.nouns)

    def _slot(self, name: str) -> str:
        fr = self.frame
        if name in ("n", "m", "k"):
            return self._noun()
        if name in ("ns", "ms", "ks", "Rs"):
            return plural(self._slot(name[0]))
        if name == "a":
            return self.pick(self.adjectives)
        if name in ("v", "V"):
            return self.pick(PAST if name == "v" else PRESENT)
        if name in ("P", "S", "R"):
            full, role = self.pick(fr.people)
            return {"P": full, "S": full.split()[-1], "R": role}[name]
        if name in ("O", "O2"):
            return fr.orgs[name == "O2"] if self._random() < 0.8 else self.pick(self.orgs)
        if name == "L":
            return self.pick(fr.places if self._random() < 0.8 else self.places)
        if name in _NUMBERS:
            low, high = _NUMBERS[name]
            return str(low + int(self._random() * (high - low + 1)))
        return self.pick(_POOLS[name])

    def _fill(self, compiled: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
        pieces, slots = compiled
        out = [pieces[0]]
        for slot, piece in zip(slots, pieces[1:], strict=True):
            out.append(self._slot(slot))
            out.append(piece)
        text = "".join(out)
        if "a " in text or "A " in text:  # "a" before a vowel: the regex only when needed
            text = _AN.sub(r"\1n ", text)
        return text[0].upper() + text[1:]

    def sentence(self) -> str:
        return self._fill(self.pick(_SENTENCES))

    def headline(self) -> str:
        return self._fill(self.pick(_HEADLINES))

    def change(self) -> str:
        """One changelog line of a software release."""
        return self._fill(self.pick(_CHANGES))

    def sentences(self, words: int) -> list[str]:
        """Sentences of at least `words` words in all (one sentence more at most)."""
        out: list[str] = []
        count = 0
        while count < words:
            out.append(self.sentence())
            count += out[-1].count(" ") + 1
        return out

    def paragraph(self) -> list[str]:
        return [self.sentence() for _ in range(self.pick((2, 3, 4, 5)))]

    def article(self, words: int) -> list[list[str]]:
        """Paragraphs (lists of sentences) of at least `words` words, one paragraph more at most."""
        paragraphs: list[list[str]] = []
        count = 0
        while count < words:
            paragraphs.append(self.paragraph())
            count += sum(s.count(" ") + 1 for s in paragraphs[-1])
        return paragraphs


# --- light edits -------------------------------------------------------------------

_PAST = frozenset(PAST)


def edit(rng: random.Random, writer: Writer, paras: list[list[str]]) -> list[list[str]]:
    """A copy of `paras` with 1-3 light edits changing at most 12% of its words.

    The edits: numbers corrected and adverbs inserted, a sentence added or dropped, two
    paragraphs swapped, the last paragraph trimmed. `paras` itself is left unchanged.
    """
    out = [list(p) for p in paras]
    budget = sum(len(s.split()) for p in out for s in p) * 12 // 100
    for op in rng.sample(tuple(_EDITS), rng.randint(1, 3)):
        budget -= _EDITS[op](rng, writer, out, budget)
    return out


def _edit_words(r: random.Random, w: Writer, out: list[list[str]], budget: int) -> int:
    count = 0
    for _ in range(min(r.randint(2, 6), budget)):
        p = r.choice(out)
        at = r.randrange(len(p))
        tokens = p[at].split(" ")
        spots = [i for i, t in enumerate(tokens) if t.isdigit() or t in _PAST]
        if spots:
            i = r.choice(spots)
            old = tokens[i]
            tokens[i] = (
                str(int(old) + r.randint(1, 9)) if old.isdigit() else f"{r.choice(SWAPS)} {old}"
            )
            p[at], count = " ".join(tokens), count + 1
    return count


def _edit_add(r: random.Random, w: Writer, out: list[list[str]], budget: int) -> int:
    sentence = w.sentence()
    if len(sentence.split()) > budget:
        return 0
    r.choice(out).append(sentence)
    return len(sentence.split())


def _edit_drop(r: random.Random, w: Writer, out: list[list[str]], budget: int) -> int:
    p = r.choice(out)
    at = r.randrange(len(p))
    if len(p) < 2 or len(p[at].split()) > budget:
        return 0
    return len(p.pop(at).split())


def _edit_swap(r: random.Random, w: Writer, out: list[list[str]], budget: int) -> int:
    if len(out) >= 3:
        at = r.randrange(1, len(out) - 1)
        out[at], out[at + 1] = out[at + 1], out[at]
    return 0


def _edit_trim(r: random.Random, w: Writer, out: list[list[str]], budget: int) -> int:
    cost = sum(len(s.split()) for s in out[-1])
    if len(out) < 3 or cost > budget:
        return 0
    out.pop()
    return cost


_EDITS = {"words": _edit_words, "add": _edit_add, "drop": _edit_drop, "swap": _edit_swap,
          "trim": _edit_trim}  # fmt: skip
