"""The offline geocoder: Berlin and Munich districts, squares and stations, shipped as ``gazetteer.json``."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import InvalidRequest
from domain.models import GeoPoint
from integrations.directory._data import read_bundled_json

CITY = "city"

# Words people put around a place name that say nothing about where it is ("near Alex", "Kreuzberg, Berlin,
# Germany", "S-Bahn Hackescher Markt"). They are only skipped outside a matched name, so a name that
# contains one of them still matches as a whole.
_FILLER_TEXT = """
    a an and area around at by center central centre city close district downtown germany in near nearby next of
    station stop the to
    am bahn bahnhof bei beim bezirk das dem den der des deutschland die gegend im innenstadt kiez nahe naehe s sbahn
    u ubahn um vom von zentrum zum zur
"""
_FILLER_WORDS = frozenset(_FILLER_TEXT.split())
_GERMAN_LETTERS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_COORDINATES = re.compile(r"^\s*([+-]?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*([+-]?\d{1,3}(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Place:
    """A named place; ``city`` is the name of the gazetteer's place of kind ``"city"`` that contains it."""

    name: str
    city: str
    lat: float
    lng: float
    kind: str = "district"
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name if self.kind == CITY else f"{self.name}, {self.city}"

    def point(self) -> GeoPoint:
        return GeoPoint(self.lat, self.lng, label=self.label)


def parse_coordinates(text: str) -> GeoPoint | None:
    """``"52.5219, 13.4132"`` -> that point (labelled with its coordinates); ``None`` for anything else."""
    match = _COORDINATES.match(text)
    if match is None:
        return None
    lat, lng = float(match.group(1)), float(match.group(2))
    try:
        return GeoPoint(lat, lng, label=f"{lat:.5f}, {lng:.5f}")
    except InvalidRequest:
        return None


class GazetteerGeocoder:
    """A ``Geocoder`` that looks place text up in a fixed list of places; no network.

    Matching ignores case, accents, punctuation and how umlauts are typed ("Neukölln", "Neukoelln",
    "neukolln"), skips filler words and house numbers or postcodes, and accepts the city next to the place
    ("Berlin Mitte", "Kreuzberg, Berlin"). The longest matching name wins. When a name is in several
    cities and the text does not say which, the place nearest ``near`` wins, or without ``near`` the one
    listed first (the bundled file lists Berlin first). Any other word makes the text unknown (``None``):
    guessing "Hauptbahnhof, Berlin" for "Frankfurt Hauptbahnhof" would send calls to the wrong city.
    Coordinates ("52.52, 13.40") are returned as they are.

    Without ``places`` it serves the bundled file, read on the first lookup (never at import time).
    """

    def __init__(self, places: Sequence[Place] | None = None) -> None:
        self._places = tuple(places) if places is not None else None
        self._index: _Index | None = None

    async def geocode(self, text: str, near: GeoPoint | None = None) -> GeoPoint | None:
        coordinates = parse_coordinates(text)
        if coordinates is not None:
            return coordinates
        if self._index is None:
            self._index = _bundled_index() if self._places is None else _Index(self._places)
        place = self._index.find(text, near)
        return None if place is None else place.point()


@functools.cache
def load_bundled_places() -> tuple[Place, ...]:
    """The places of the bundled gazetteer, in file order."""
    return tuple(
        Place(
            name=str(entry["name"]),
            city=str(entry["city"]),
            lat=float(entry["lat"]),
            lng=float(entry["lng"]),
            kind=str(entry.get("kind", "district")),
            aliases=tuple(str(alias) for alias in entry.get("aliases", ())),
        )
        for entry in read_bundled_json("gazetteer.json")["places"]
    )


def find_place(text: str, near: GeoPoint | None = None) -> Place | None:
    """The bundled place that ``text`` names, matched as ``GazetteerGeocoder`` does, or ``None``."""
    return _bundled_index().find(text, near)


@functools.cache
def place_names() -> dict[str, Place]:
    """Every bundled name and alias as comparable words joined by spaces (``"prenzlauer berg"``), to its place
    (the first listed when a name is in several cities)."""
    names: dict[str, Place] = {}
    for place in load_bundled_places():
        for name in (place.name, *place.aliases):
            for spell in (True, False):
                names.setdefault(" ".join(_words(name, spell_out_umlauts=spell)), place)
    return names


@functools.cache
def _bundled_index() -> _Index:
    return _Index(load_bundled_places())


def _words(text: str, *, spell_out_umlauts: bool = True) -> tuple[str, ...]:
    """Comparable words: casefolded ("ß" becomes "ss"), umlauts spelled out ("ö" -> "oe") or, with
    ``spell_out_umlauts=False``, stripped like other accents ("ö" -> "o"); apostrophes dropped ("Ku'damm"
    -> "kudamm"), other punctuation splits words, and "...str" is read as "...strasse"."""
    folded = text.casefold()
    if spell_out_umlauts:
        folded = folded.translate(_GERMAN_LETTERS)
    decomposed = unicodedata.normalize("NFKD", folded)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"['’`´]", "", plain)
    words = re.sub(r"[\W_]+", " ", plain).split()
    return tuple(word[:-3] + "strasse" if word.endswith("str") else word for word in words)


class _Index:
    def __init__(self, places: Sequence[Place]) -> None:
        # Reversed so that of two equal entries the first one's position counts.
        self._order = {place: position for position, place in reversed(list(enumerate(places)))}
        self._by_words: dict[tuple[str, ...], list[Place]] = {}
        self._city_names: dict[str, set[tuple[str, ...]]] = {}
        for place in places:
            names = {place.name, *place.aliases}
            keys = {_words(n, spell_out_umlauts=spell) for n in names for spell in (True, False)}
            keys.discard(())
            for key in keys:
                bucket = self._by_words.setdefault(key, [])
                if place not in bucket:
                    bucket.append(place)
            if place.kind == CITY:
                self._city_names.setdefault(place.name, set()).update(keys)
        self._longest = max((len(key) for key in self._by_words), default=0)

    def find(self, text: str, near: GeoPoint | None) -> Place | None:
        words = _words(text)
        for length in range(min(len(words), self._longest), 0, -1):
            candidates = [
                place
                for start in range(len(words) - length + 1)
                for place in self._by_words.get(words[start : start + length], ())
                if self._fits(place, words[:start] + words[start + length :])
            ]
            if candidates:
                return self._closest(candidates, near)
        return None

    def _closest(self, candidates: list[Place], near: GeoPoint | None) -> Place:
        if near is None:
            return min(candidates, key=self._order.__getitem__)
        return min(candidates, key=lambda place: (near.distance_km(place.point()), self._order[place]))

    def _fits(self, place: Place, rest: tuple[str, ...]) -> bool:
        """Whether the words around a matched name say nothing else, or only name the place's own city."""
        meaningful = tuple(word for word in rest if word not in _FILLER_WORDS and not word.isdigit())
        if not meaningful:
            return True
        return place.kind != CITY and meaningful in self._city_names.get(place.city, set())
