"""Portuguese vocabulary for the synthetic Olist generator: categories and review text.

Data plus small vectorised helpers that turn random draws into review titles and messages
(with the CSV-hostile characters and personal data the real comments carry). Counts are rough
shapes where no real figure is published (product counts per category, phrase mix); places
live in `synthetic_places`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# (category, rough real product count, English name or None when the real file lacks one).
# English names keep the real file's typos (costruction_, home_confort, fashio_).
CATEGORIES: tuple[tuple[str, int, str | None], ...] = (
    ("cama_mesa_banho", 3029, "bed_bath_table"),
    ("esporte_lazer", 2867, "sports_leisure"),
    ("moveis_decoracao", 2657, "furniture_decor"),
    ("beleza_saude", 2444, "health_beauty"),
    ("utilidades_domesticas", 2335, "housewares"),
    ("automotivo", 1900, "auto"),
    ("informatica_acessorios", 1639, "computers_accessories"),
    ("brinquedos", 1411, "toys"),
    ("relogios_presentes", 1329, "watches_gifts"),
    ("telefonia", 1134, "telephony"),
    ("bebes", 919, "baby"),
    ("perfumaria", 868, "perfumery"),
    ("papelaria", 849, "stationery"),
    ("fashion_bolsas_e_acessorios", 849, "fashion_bags_accessories"),
    ("cool_stuff", 789, "cool_stuff"),
    ("ferramentas_jardim", 753, "garden_tools"),
    ("pet_shop", 719, "pet_shop"),
    ("eletronicos", 517, "electronics"),
    ("construcao_ferramentas_construcao", 400, "construction_tools_construction"),
    ("eletrodomesticos", 370, "home_appliances"),
    ("malas_acessorios", 349, "luggage_accessories"),
    ("consoles_games", 317, "consoles_games"),
    ("moveis_escritorio", 309, "office_furniture"),
    ("instrumentos_musicais", 289, "musical_instruments"),
    ("eletroportateis", 231, "small_appliances"),
    ("casa_construcao", 225, "home_construction"),
    ("livros_interesse_geral", 216, "books_general_interest"),
    ("fashion_calcados", 173, "fashion_shoes"),
    ("moveis_sala", 156, "furniture_living_room"),
    ("climatizacao", 124, "air_conditioning"),
    ("livros_tecnicos", 123, "books_technical"),
    ("telefonia_fixa", 116, "fixed_telephony"),
    ("casa_conforto", 111, "home_confort"),
    ("market_place", 104, "market_place"),
    ("alimentos_bebidas", 104, "food_drink"),
    ("fashion_roupa_masculina", 95, "fashion_male_clothing"),
    ("sinalizacao_e_seguranca", 93, "signaling_and_security"),
    ("eletrodomesticos_2", 90, "home_appliances_2"),
    ("construcao_ferramentas_jardim", 88, "costruction_tools_garden"),
    ("alimentos", 82, "food"),
    ("bebidas", 81, "drinks"),
    ("construcao_ferramentas_iluminacao", 78, "construction_tools_lights"),
    ("agro_industria_e_comercio", 74, "agro_industry_and_commerce"),
    ("industria_comercio_e_negocios", 68, "industry_commerce_and_business"),
    ("artigos_de_natal", 65, "christmas_supplies"),
    (
        "moveis_cozinha_area_de_servico_jantar_e_jardim",
        63,
        "kitchen_dining_laundry_garden_furniture",
    ),
    ("construcao_ferramentas_seguranca", 60, "construction_tools_safety"),
    ("audio", 58, "audio"),
    ("artes", 55, "art"),
    ("fashion_underwear_e_moda_praia", 53, "fashion_underwear_beach"),
    ("fashion_roupa_feminina", 48, "fashio_female_clothing"),
    ("dvds_blu_ray", 48, "dvds_blu_ray"),
    ("construcao_ferramentas_ferramentas", 39, "costruction_tools_tools"),
    ("livros_importados", 31, "books_imported"),
    ("pcs", 30, "computers"),
    ("moveis_quarto", 30, "furniture_bedroom"),
    ("cine_foto", 28, "cine_photo"),
    ("musica", 27, "music"),
    ("artigos_de_festas", 26, "party_supplies"),
    ("artes_e_artesanato", 19, "arts_and_craftmanship"),
    ("fashion_esporte", 19, "fashion_sport"),
    ("flores", 14, "flowers"),
    ("fraldas_higiene", 12, "diapers_and_hygiene"),
    ("portateis_casa_forno_e_cafe", 10, "small_appliances_home_oven_and_coffee"),
    ("la_cuisine", 10, "la_cuisine"),
    ("moveis_colchao_e_estofado", 10, "furniture_mattress_and_upholstery"),
    ("portateis_cozinha_e_preparadores_de_alimentos", 10, None),
    ("tablets_impressao_imagem", 9, "tablets_printing_image"),
    ("pc_gamer", 3, None),
    ("casa_conforto_2", 5, "home_comfort_2"),
    ("fashion_roupa_infanto_juvenil", 5, "fashion_childrens_clothes"),
    ("seguros_e_servicos", 2, "security_and_services"),
    ("cds_dvds_musicais", 1, "cds_dvds_musicals"),
)

_TITLES = {
    "good": ("recomendo", "Ótimo", "Excelente", "Muito bom", "Super recomendo", "Adorei",
             "Perfeito", "Nota 10", "Satisfeito", "Chegou antes do prazo"),
    "mixed": ("Regular", "Razoável", "Ok", "Mais ou menos", "Bom, mas demorou"),
    "bad": ("Não recebi", "Péssimo", "Produto com defeito", "Decepcionado", "Não recomendo",
            "Produto errado", "Atraso na entrega"),
}  # fmt: skip
_PHRASES = {
    "good": (
        "Produto chegou antes do prazo",
        "Muito bom, recomendo",
        "Adorei o produto",
        "entrega rápida",
        "Ótimo vendedor, super atencioso",
        "Produto de excelente qualidade",
        "tudo conforme o anunciado",
        "Chegou bem embalado",
        "Comprarei novamente",
        'veio exatamente como na foto, "perfeito"',
        "minha filha amou",
        "Recomendo a loja",
    ),
    "mixed": (
        "O produto é bom, mas a entrega demorou",
        "Razoável pelo preço",
        "Chegou com a caixa amassada",
        "A cor é um pouco diferente da foto",
        'o tamanho "M" ficou pequeno',
        "Esperava mais",
        "funciona, porém faz barulho",
    ),
    "bad": (
        "Não recebi o produto",
        "Produto veio com defeito",
        "produto diferente do anunciado",
        "até agora nada",
        "Péssimo atendimento, ninguém responde",
        "Comprei 2 e veio só 1",
        'veio escrito "original" na caixa mas é falsificado',
        "Quero meu dinheiro de volta",
        "Já passou do prazo de entrega",
        "Não recomendo esta loja",
    ),
}
# Separators carry the CSV-hostile characters: commas and both kinds of line break.
_SEPARATORS = (". ", ", ", " ", "\r\n", "\n", "! ", " e ")
_SEPARATOR_WEIGHTS = (0.30, 0.22, 0.14, 0.10, 0.08, 0.08, 0.08)
_FIRST_NAMES = ("joao", "maria", "ana", "pedro", "lucas", "juliana", "carlos", "fernanda")
_MAIL_DOMAINS = ("gmail.com", "hotmail.com", "yahoo.com.br", "uol.com.br", "outlook.com")
_AREA_CODES = (11, 21, 31, 41, 48, 51, 61, 71, 81, 85)


def _mood(scores: np.ndarray) -> np.ndarray:
    """0 good (4-5 stars), 1 mixed (3), 2 bad (1-2)."""
    return np.where(scores >= 4, 0, np.where(scores == 3, 1, 2))


def _pick(
    rng: np.random.Generator, moods: np.ndarray, table: dict[str, tuple[str, ...]]
) -> pl.Series:
    """One entry per row from the vocabulary of the row's mood."""
    out = pl.Series(values=[""] * len(moods), dtype=pl.String)
    for mood, key in enumerate(("good", "mixed", "bad")):
        rows = np.flatnonzero(moods == mood)
        vocab = pl.Series(values=table[key])
        out = out.scatter(rows, vocab.gather(rng.integers(0, len(vocab), rows.size)))
    return out


def review_texts(rng: np.random.Generator, scores: np.ndarray) -> tuple[pl.Series, pl.Series]:
    """Titles (~12% present) and messages (~41% present) matching each review's score.

    Messages join 1-3 phrases with separators that include commas and `\\r\\n`/`\\n`; some
    phrases hold double quotes; ~0.5% leak personal data. Absent texts are null (empty field).
    """
    n, moods = len(scores), _mood(scores)
    parts = [_pick(rng, moods, _PHRASES) for _ in range(3)]
    seps = pl.Series(values=_SEPARATORS)
    picks = [seps.gather(rng.choice(len(_SEPARATORS), n, p=_SEPARATOR_WEIGHTS)) for _ in range(2)]
    phrases = rng.choice(3, n, p=(0.5, 0.35, 0.15)) + 1
    frame = pl.DataFrame({"p0": parts[0], "p1": parts[1], "p2": parts[2], "s0": picks[0]})
    frame = frame.with_columns(s1=picks[1], k=phrases)
    message = frame.select(
        pl.concat_str(
            "p0",
            pl.when(pl.col("k") >= 2).then(pl.concat_str("s0", "p1")).otherwise(pl.lit("")),
            pl.when(pl.col("k") >= 3).then(pl.concat_str("s1", "p2")).otherwise(pl.lit("")),
        )
    ).to_series()
    message = _with_personal_data(rng, _blank_where(message, rng.random(n) >= 0.413))
    title = _blank_where(_pick(rng, moods, _TITLES), rng.random(n) >= 0.117)
    return title, message


def _with_personal_data(rng: np.random.Generator, message: pl.Series) -> pl.Series:
    """~0.5% of comments leak an e-mail, phone or CPF, which masking must later scrub."""
    present = np.flatnonzero(message.is_not_null().to_numpy())
    if present.size == 0:
        return message
    rows = rng.choice(present, max(1, round(present.size * 0.005)), replace=False)
    return message.scatter(rows, message.gather(rows) + personal_data(rng, rows.size))


def _blank_where(series: pl.Series, mask: np.ndarray) -> pl.Series:
    return series.scatter(np.flatnonzero(mask), None)


def cpf_numbers(rng: np.random.Generator, count: int) -> pl.Series:
    """Formatted CPFs (`123.456.789-09`) with valid check digits, so validators catch them."""
    digits = rng.integers(0, 10, (count, 9))
    first = (digits @ np.arange(10, 1, -1)) * 10 % 11 % 10
    second = (digits @ np.arange(11, 2, -1) + first * 2) * 10 % 11 % 10
    full = np.column_stack([digits, first, second]).astype(str)
    text = ["".join(row) for row in full]  # a handful of rows: never on the big tables
    return pl.Series(values=[f"{t[:3]}.{t[3:6]}.{t[6:9]}-{t[9:]}" for t in text])


def personal_data(rng: np.random.Generator, count: int) -> pl.Series:
    """Sentences leaking an e-mail, a mobile number or a CPF: what masking must scrub."""
    names = pl.Series(values=_FIRST_NAMES).gather(rng.integers(0, len(_FIRST_NAMES), count))
    domains = pl.Series(values=_MAIL_DOMAINS).gather(rng.integers(0, len(_MAIL_DOMAINS), count))
    areas = pl.Series(values=_AREA_CODES).gather(rng.integers(0, len(_AREA_CODES), count))
    frame = pl.DataFrame(
        {
            "name": names,
            "domain": domains,
            "number": rng.integers(1, 999, count),
            "area": areas,
            "head": rng.integers(0, 10_000, count),
            "tail": rng.integers(0, 10_000, count),
            "cpf": cpf_numbers(rng, count),
            "kind": rng.integers(0, 3, count),
        }
    )
    email = pl.format(" me mande um e-mail: {}.silva{}@{}", "name", "number", "domain")
    phone = pl.format(
        " meu whatsapp é ({}) 9{}-{}",
        "area",
        pl.col("head").cast(pl.String).str.zfill(4),
        pl.col("tail").cast(pl.String).str.zfill(4),
    )
    cpf = pl.format(" a nota saiu no CPF {} errado", "cpf")
    leak = pl.when(pl.col("kind") == 0).then(email).when(pl.col("kind") == 1).then(phone)
    return frame.select(leak.otherwise(cpf)).to_series()
