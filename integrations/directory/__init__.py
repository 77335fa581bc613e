"""The offline provider directory and gazetteer (the defaults when NEXUS runs without outside services).

``BundledDirectory`` is a ``ProviderDirectory`` and ``GazetteerGeocoder`` a ``Geocoder``; both serve the JSON
files shipped in this package unless given their own providers or places. ``rank_providers`` is the ordering
every directory shares; ``parse_coordinates`` reads "lat, lng" text.
"""

from integrations.directory._bundled import BundledDirectory, bundled_opening_hours, load_bundled_providers
from integrations.directory._gazetteer import (
    GazetteerGeocoder,
    Place,
    find_place,
    load_bundled_places,
    parse_coordinates,
    place_names,
)
from integrations.directory._ranking import normalise_service, rank_providers

__all__ = [
    "BundledDirectory",
    "GazetteerGeocoder",
    "Place",
    "bundled_opening_hours",
    "find_place",
    "load_bundled_places",
    "load_bundled_providers",
    "normalise_service",
    "parse_coordinates",
    "place_names",
    "rank_providers",
]
