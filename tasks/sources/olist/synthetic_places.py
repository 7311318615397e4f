"""Brazilian places for the synthetic Olist generator: states, cities, zip prefixes, coordinates.

Real customer and seller counts per state (olist.md); city weights are a rough shape where no
real figure is published. Small vectorised helpers turn random draws into places
(zip prefix -> city -> coordinates) and the `*_zip_code_prefix`, `*_city`, `*_state` columns.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class State:
    """One UF: real customer and seller counts, its CEP prefix range, capital coords, cities."""

    uf: str
    customers: int
    sellers: int
    zip_range: tuple[int, int]  # inclusive 5-digit CEP prefixes
    capital: tuple[float, float]  # (lat, lng)
    cities: tuple[str, ...]  # most populous first; the first block of zips is the capital's


def _state(uf: str, customers: int, sellers: int, zips: str, capital: str, cities: str) -> State:
    low, high = (int(part) for part in zips.split("-"))
    lat, lng = (float(part) for part in capital.split(","))
    return State(uf, customers, sellers, (low, high), (lat, lng), tuple(cities.split("|")))


STATES: tuple[State, ...] = (
    _state("SP", 41_746, 1_849, "1000-19999", "-23.55,-46.63",
           "são paulo|campinas|guarulhos|são bernardo do campo|santo andré|osasco|santos|"
           "são josé dos campos|sorocaba|jundiaí|ribeirão preto|mogi das cruzes|barueri|"
           "piracicaba|bauru|são josé do rio preto|franca|taubaté|limeira|são carlos"),
    _state("RJ", 12_852, 171, "20000-28999", "-22.91,-43.17",
           "rio de janeiro|niterói|nova iguaçu|são gonçalo|duque de caxias|petrópolis|"
           "campos dos goytacazes|volta redonda|macaé|teresópolis"),
    _state("MG", 11_635, 244, "30000-39999", "-19.92,-43.94",
           "belo horizonte|contagem|juiz de fora|uberlândia|betim|montes claros|uberaba|"
           "governador valadares|ipatinga|divinópolis|poços de caldas|varginha"),
    _state("RS", 5_466, 129, "90000-99999", "-30.03,-51.23",
           "porto alegre|caxias do sul|canoas|pelotas|santa maria|novo hamburgo|gravataí|"
           "passo fundo|são leopoldo"),
    _state("PR", 5_045, 349, "80000-87999", "-25.43,-49.27",
           "curitiba|londrina|maringá|ponta grossa|cascavel|são josé dos pinhais|"
           "foz do iguaçu|colombo|guarapuava"),
    _state("SC", 3_637, 190, "88000-89999", "-27.59,-48.55",
           "florianópolis|joinville|blumenau|são josé|itajaí|chapecó|criciúma|palhoça|"
           "jaraguá do sul"),
    _state("BA", 3_380, 19, "40000-48999", "-12.97,-38.50",
           "salvador|feira de santana|vitória da conquista|camaçari|lauro de freitas|itabuna|"
           "ilhéus|juazeiro"),
    _state("DF", 2_140, 30, "70000-72799", "-15.79,-47.88",
           "brasília|taguatinga|ceilândia|gama|sobradinho|guará|águas claras"),
    _state("ES", 2_033, 23, "29000-29999", "-20.32,-40.34",
           "vitória|vila velha|serra|cariacica|cachoeiro de itapemirim|guarapari|linhares"),
    _state("GO", 2_020, 40, "74000-76799", "-16.68,-49.25",
           "goiânia|aparecida de goiânia|anápolis|rio verde|luziânia|águas lindas de goiás|"
           "catalão"),
    _state("PE", 1_652, 9, "50000-56999", "-8.05,-34.90",
           "recife|jaboatão dos guararapes|olinda|caruaru|petrolina|paulista|"
           "cabo de santo agostinho"),
    _state("CE", 1_336, 13, "60000-63999", "-3.73,-38.52",
           "fortaleza|caucaia|juazeiro do norte|maracanaú|sobral|crato"),
    _state("PA", 975, 1, "66000-68899", "-1.46,-48.49",
           "belém|ananindeua|santarém|marabá|castanhal|parauapebas"),
    _state("MT", 907, 4, "78000-78899", "-15.60,-56.10",
           "cuiabá|várzea grande|rondonópolis|sinop|tangará da serra"),
    _state("MA", 747, 1, "65000-65999", "-2.53,-44.30", "são luís|imperatriz|timon|caxias|codó"),
    _state("MS", 715, 5, "79000-79999", "-20.44,-54.65",
           "campo grande|dourados|três lagoas|corumbá|ponta porã"),
    _state("PB", 536, 6, "58000-58999", "-7.12,-34.90",
           "joão pessoa|campina grande|santa rita|patos|bayeux"),
    _state("PI", 495, 1, "64000-64999", "-5.09,-42.80", "teresina|parnaíba|picos|floriano"),
    _state("RN", 485, 5, "59000-59999", "-5.79,-35.21", "natal|mossoró|parnamirim|caicó"),
    _state("AL", 413, 0, "57000-57999", "-9.67,-35.74",
           "maceió|arapiraca|rio largo|palmeira dos índios"),
    _state("SE", 350, 2, "49000-49999", "-10.91,-37.07",
           "aracaju|nossa senhora do socorro|lagarto|itabaiana"),
    _state("TO", 280, 0, "77000-77999", "-10.18,-48.33", "palmas|araguaína|gurupi|porto nacional"),
    _state("RO", 253, 2, "76800-76999", "-8.76,-63.90", "porto velho|ji-paraná|ariquemes|vilhena"),
    _state("AM", 148, 1, "69000-69299", "-3.12,-60.02", "manaus|parintins|itacoatiara|manacapuru"),
    _state("AC", 81, 1, "69900-69999", "-9.97,-67.81", "rio branco|cruzeiro do sul|sena madureira"),
    _state("AP", 68, 0, "68900-68999", "0.03,-51.07", "macapá|santana|laranjal do jari"),
    _state("RR", 46, 0, "69300-69399", "2.82,-60.67", "boa vista|rorainópolis|caracaraí"),
)  # fmt: skip


def city_weights(count: int) -> np.ndarray:
    """Share of a state's customers per city: the capital ~40% (são paulo ~37% in the real
    data), the rest a slowly decaying tail standing in for hundreds of small towns."""
    if count == 1:
        return np.ones(1)
    tail = 1.0 / np.sqrt(np.arange(1, count))
    return np.r_[0.4, 0.6 * tail / tail.sum()]


def strip_accents(text: str) -> str:
    """`são paulo` -> `sao paulo`: the real geolocation file spells many cities both ways."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


CITY_NAMES = tuple(city for state in STATES for city in state.cities)
CITY_PLAIN_NAMES = tuple(strip_accents(city) for city in CITY_NAMES)


@dataclass(frozen=True)
class Places:
    """The zip prefixes of the set, grouped by state (state order of STATES)."""

    zip: np.ndarray
    state: np.ndarray
    city: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    start: np.ndarray  # first prefix of each state
    count: np.ndarray  # prefixes per state


def draw_places(rng: np.random.Generator, prefixes: int) -> Places:
    """Distinct zip prefixes per state; a prefix's city follows its block of the CEP range."""
    weights = np.array([s.customers**0.8 + s.sellers for s in STATES])
    room = np.array([s.zip_range[1] - s.zip_range[0] + 1 for s in STATES])
    counts = np.clip(np.rint(prefixes * weights / weights.sum()), 1, room).astype(np.int64)
    city_offset = np.cumsum([0] + [len(s.cities) for s in STATES])
    city_lat = np.empty(len(CITY_NAMES))
    city_lng = np.empty(len(CITY_NAMES))
    zips, cities = [], []
    for code, state in enumerate(STATES):  # 27 states: the loop is over vocabulary, not rows
        low, first = state.zip_range[0], city_offset[code]
        chosen = np.sort(rng.choice(room[code], counts[code], replace=False))
        edges = np.cumsum(city_weights(len(state.cities)))[:-1]
        zips.append(low + chosen)
        cities.append(first + np.searchsorted(edges, (chosen + 0.5) / room[code]))
        # Other cities sit within ~1 degree of the capital, which keeps its exact spot.
        spread = rng.uniform(-1.0, 1.0, (len(state.cities), 2))
        spread[0] = 0.0
        city_lat[first : city_offset[code + 1]] = state.capital[0] + spread[:, 0]
        city_lng[first : city_offset[code + 1]] = state.capital[1] + spread[:, 1]
    city = np.concatenate(cities)
    return Places(
        zip=np.concatenate(zips),
        state=np.repeat(np.arange(len(STATES)), counts),
        city=city,
        lat=city_lat[city] + rng.normal(0, 0.05, city.size),
        lng=city_lng[city] + rng.normal(0, 0.05, city.size),
        start=np.cumsum(counts) - counts,
        count=counts,
    )


def pick_places(rng: np.random.Generator, places: Places, states: np.ndarray) -> np.ndarray:
    """A uniformly chosen prefix of each row's state (index into `places`)."""
    return places.start[states] + (rng.random(states.size) * places.count[states]).astype(int)


def place_columns(places: Places, picked: np.ndarray, prefix: str) -> dict[str, pl.Series]:
    """`{prefix}_zip_code_prefix`, `{prefix}_city`, `{prefix}_state` of the picked prefixes."""
    return {
        f"{prefix}_zip_code_prefix": pl.Series(places.zip[picked], dtype=pl.Int32),
        f"{prefix}_city": pl.Series(values=CITY_NAMES).gather(places.city[picked]),
        f"{prefix}_state": pl.Series(values=[s.uf for s in STATES]).gather(places.state[picked]),
    }
