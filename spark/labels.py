"""Friendly Portuguese labels for Olist's product categories, as the seed dashboard showed them.

Every category of the real dataset has a hand-written label ("cama_mesa_banho" ->
"Cama/Mesa/Banho"). A category Cofre has never seen gets the fallback rule: underscores
become spaces, words are capitalised, Portuguese connectors stay lower case
("artigos_de_pesca" -> "Artigos de Pesca"); the fallback cannot restore accents. A product
without a category is "Sem categoria".
"""

from __future__ import annotations

NO_CATEGORY = "Sem categoria"
CONNECTORS = ("e", "de", "da", "do", "das", "dos", "para", "com")

CATEGORY_LABELS: dict[str, str] = {
    "agro_industria_e_comercio": "Agroindústria/Comércio",
    "alimentos": "Alimentos",
    "alimentos_bebidas": "Alimentos/Bebidas",
    "artes": "Artes",
    "artes_e_artesanato": "Artes/Artesanato",
    "artigos_de_festas": "Artigos de Festas",
    "artigos_de_natal": "Artigos de Natal",
    "audio": "Áudio",
    "automotivo": "Automotivo",
    "bebes": "Bebês",
    "bebidas": "Bebidas",
    "beleza_saude": "Beleza/Saúde",
    "brinquedos": "Brinquedos",
    "cama_mesa_banho": "Cama/Mesa/Banho",
    "casa_conforto": "Casa/Conforto",
    "casa_conforto_2": "Casa/Conforto 2",
    "casa_construcao": "Casa/Construção",
    "cds_dvds_musicais": "CDs/DVDs Musicais",
    "cine_foto": "Cine/Foto",
    "climatizacao": "Climatização",
    "consoles_games": "Consoles/Games",
    "construcao_ferramentas_construcao": "Construção/Ferramentas",
    "construcao_ferramentas_ferramentas": "Construção/Ferramentas Manuais",
    "construcao_ferramentas_iluminacao": "Construção/Iluminação",
    "construcao_ferramentas_jardim": "Construção/Jardim",
    "construcao_ferramentas_seguranca": "Construção/Segurança",
    "cool_stuff": "Cool Stuff",
    "dvds_blu_ray": "DVDs/Blu-ray",
    "eletrodomesticos": "Eletrodomésticos",
    "eletrodomesticos_2": "Eletrodomésticos 2",
    "eletronicos": "Eletrônicos",
    "eletroportateis": "Eletroportáteis",
    "esporte_lazer": "Esporte/Lazer",
    "fashion_bolsas_e_acessorios": "Moda/Bolsas e Acessórios",
    "fashion_calcados": "Moda/Calçados",
    "fashion_esporte": "Moda/Esporte",
    "fashion_roupa_feminina": "Moda/Roupa Feminina",
    "fashion_roupa_infanto_juvenil": "Moda/Roupa Infantojuvenil",
    "fashion_roupa_masculina": "Moda/Roupa Masculina",
    "fashion_underwear_e_moda_praia": "Moda/Íntima e Praia",
    "ferramentas_jardim": "Ferramentas/Jardim",
    "flores": "Flores",
    "fraldas_higiene": "Fraldas/Higiene",
    "industria_comercio_e_negocios": "Indústria/Comércio/Negócios",
    "informatica_acessorios": "Informática/Acessórios",
    "instrumentos_musicais": "Instrumentos Musicais",
    "la_cuisine": "La Cuisine",
    "livros_importados": "Livros Importados",
    "livros_interesse_geral": "Livros de Interesse Geral",
    "livros_tecnicos": "Livros Técnicos",
    "malas_acessorios": "Malas/Acessórios",
    "market_place": "Marketplace",
    "moveis_colchao_e_estofado": "Móveis/Colchões e Estofados",
    "moveis_cozinha_area_de_servico_jantar_e_jardim": "Móveis/Cozinha, Serviço, Jantar e Jardim",
    "moveis_decoracao": "Móveis/Decoração",
    "moveis_escritorio": "Móveis/Escritório",
    "moveis_quarto": "Móveis/Quarto",
    "moveis_sala": "Móveis/Sala",
    "musica": "Música",
    "papelaria": "Papelaria",
    "pc_gamer": "PC Gamer",
    "pcs": "PCs",
    "perfumaria": "Perfumaria",
    "pet_shop": "Pet Shop",
    "portateis_casa_forno_e_cafe": "Portáteis/Forno e Café",
    "portateis_cozinha_e_preparadores_de_alimentos": "Portáteis/Cozinha e Preparo de Alimentos",
    "relogios_presentes": "Relógios/Presentes",
    "seguros_e_servicos": "Seguros/Serviços",
    "sinalizacao_e_seguranca": "Sinalização/Segurança",
    "tablets_impressao_imagem": "Tablets/Impressão/Imagem",
    "telefonia": "Telefonia",
    "telefonia_fixa": "Telefonia Fixa",
    "utilidades_domesticas": "Utilidades Domésticas",
}


def fallback_label(category: str) -> str:
    """The rule for a category without a hand-written label (Python twin of the column)."""
    words = category.replace("_", " ").split(" ")
    inner = range(1, len(words) - 1)  # a connector is never the first or the last word
    return " ".join(
        word.lower() if i in inner and word.lower() in CONNECTORS else word.capitalize()
        for i, word in enumerate(words)
    )


def category_label(category: str | None) -> str:
    """The friendly label of one category name (None: no category)."""
    if category is None:
        return NO_CATEGORY
    return CATEGORY_LABELS.get(category) or fallback_label(category)
