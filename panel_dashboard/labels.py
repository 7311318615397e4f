"""Every word the dashboard shows, in Portuguese (default) and English (`?lang=en`).

Numbers follow the language (pt: R$ 1.234,56; en: R$ 1,234.56); the money is reais. A count
is written with its noun by `counted` ("1 pedido", "2.000 pedidos"; "1 file", "3 files"), and
the templates take the counted phrase, so no text says "1 files".
"""

from __future__ import annotations

from panel_dashboard import formatting as fmt
from validation.catalog import ORDER_BUCKET_LABELS

LANGUAGES = ("pt", "en")

TEXT: dict[str, dict[str, str]] = {
    "pt": {
        "title": "Cofre · Painel de vendas",
        "other_language": "English",
        "tab_sales": "Vendas",
        "tab_operations": "Operações",
        "filters": "Filtros",
        "period": "Período da compra",
        "state": "Estado do cliente",
        "category": "Categoria",
        "all_states": "Todos os estados",
        "all_categories": "Todas as categorias",
        "clear": "Limpar filtros",
        "kpi_revenue": "Receita",
        "kpi_orders": "Pedidos",
        "kpi_ticket": "Ticket médio",
        "kpi_review": "Avaliação média",
        "kpi_on_time": "Entregas no prazo",
        "status_title": "Pedidos por situação",
        "status_note": "Todos os pedidos, inclusive os sem itens; valor = pagamentos do pedido.",
        "payments_title": "Vendas concretizadas por forma de pagamento",
        "payments_note_mart": "Pagamentos dos pedidos entregues ou enviados, por forma.",
        "payments_note_facts": "Com filtros, cada pedido conta na forma de pagamento principal.",
        "states_title": "Vendas e clientes por estado",
        "customers": "Clientes",
        "revenue": "Receita",
        "categories_title": "Top 10 categorias",
        "monthly_title": "Receita mensal: nominal × deflacionada pelo IPCA",
        "nominal": "Nominal",
        "deflated": "Deflacionada",
        "reference": "A preços de {month} (IPCA).",
        "no_ipca": "IPCA indisponível: a receita deflacionada é igual à nominal.",
        "delivery_title": "Desempenho de entrega por estado",
        "delivered_orders": "Pedidos entregues",
        "delivery_days": "Dias até a entrega",
        "on_time": "No prazo",
        "review": "Avaliação",
        "weather_title": "Vendas × clima",
        "weather_rain": "Receita média por dia, por chuva na capital",
        "weather_temperature": "Receita média por dia, por temperatura média na capital",
        "weather_days": "{days} com vendas, {weather} com dados de clima.",
        "weather_synthetic": "Clima SINTÉTICO (amostra embutida, não medições reais): {days}.",
        "weather_none": "Sem dados de clima no período.",
        "weather_category": "O filtro de categoria não se aplica aqui (clima por estado e dia).",
        "rain_bands": "Sem chuva|Até 5 mm|5 a 20 mm|Acima de 20 mm",
        "temperature_bands": "Abaixo de 20 °C|20 a 25 °C|25 a 30 °C|30 °C ou mais",
        "unknown_state": "Não informado",
        "query_time": "consulta em {ms} ms",
        "partial": "mês parcial",
        "partial_months": (
            "* Meses parciais (cortados pelo período ou na borda dos dados, com poucos pedidos "
            "registrados): {months}."
        ),
        "loaded_at": "Dados carregados em {at} (UTC)",
        "synthetic_banner": (
            "Vendas SINTÉTICAS, não reais: geradas pelo cofre (semente {seed}, {orders})."
        ),
        "sales_real": "vendas: arquivos reais da Olist",
        "source_ipca": "IPCA: {source}",
        "source_weather": "clima: {source}",
        "source_live": "ao vivo",
        "source_skipped": "não consultado",
        "source_unknown": "origem não registrada",
        "ipca_snapshot": "snapshot embutido (até {through})",
        "weather_snapshot": "amostra sintética embutida (até {through})",
        "filters_sales_only": "Os filtros valem para a aba Vendas.",
        "stages_title": "Duração das etapas, execução mais recente no topo",
        "passed_of": "{passed} de {rows} {approved}",
        "quarantine_extra": "{objects} · {latest} na última execução",
        "files_of": "{source}: {files}, {size}",
        "lineage_bronze_node": "Bronze (arquivos)",
        "lineage_silver_node": "Silver (linhas)",
        "lineage_gold_node": "Versão gold",
        "lineage_load_node": "Armazém",
        "lineage_details": "sha256 e arquivos ({files})",
        "error": "Não foi possível consultar o armazém: {error}",
        "refresh": "Atualizar",
        "runs_title": "Últimas execuções do pipeline",
        "runs_prefect": "Fonte: API do Prefect ({note}).",
        "runs_lake": (
            "Fonte: resumos das execuções no lake ({note}); "
            "a API do Prefect não está configurada ou não respondeu."
        ),
        "runs_none": "Nenhuma execução registrada ainda.",
        "run": "Execução",
        "flow": "Fluxo",
        "run_state": "Situação",
        "started": "Início (UTC)",
        "duration": "Duração",
        "stages": "Etapas",
        "inputs_title": "Entradas e quem pediu (execuções do pipeline)",
        "requested_by": "Pedida por",
        "olist_source": "Olist",
        "declared": "Parâmetros declarados",
        "sources": "Fontes",
        "olist_synthetic": "sintéticos (semente {seed}, {orders})",
        "olist_not_read": "não lidos",
        "declared_yes": "sim",
        "declared_no": "NÃO: {names}",
        "quality_title": "Última verificação de qualidade",
        "quality_run": "Execução {run}.",
        "quality_none": "Nenhum resultado de qualidade registrado.",
        "dataset": "Conjunto",
        "rows_in": "Linhas lidas",
        "rows_out": "Linhas aprovadas",
        "quarantined": "Em quarentena",
        "merged": "Duplicadas ou agregadas",
        "failures": "Falhas",
        "quarantine_title": "Quarentena",
        "objects": "Objetos",
        "rows": "Linhas",
        "latest_run_rows": "Linhas (última execução)",
        "quarantine_none": "Quarentena vazia.",
        "audit_title": "Trilha de auditoria",
        "audit_ok": "Íntegra — registros verificados: {records}.",
        "audit_bad": "FALHOU na verificação: {reason}",
        "layers_title": "Tamanho das camadas do lake",
        "layer": "Camada",
        "size": "Tamanho",
        "part_error": "Indisponível ({part}): {error}",
        "lineage_title": "Linhagem dos dados carregados",
        "lineage_load": (
            "Versão gold {version} (manifesto sha256 {sha}…) carregada em {target} em {at} "
            "(UTC) "
            "pela execução {run}: {rows} em {tables}."
        ),
        "lineage_silver": "Conjuntos silver lidos pela versão gold",
        "lineage_bronze": "Arquivos bronze (chaves relativas a {root}; sha256 dos bytes)",
        "lineage_none": (
            "Nenhuma linhagem registrada: o armazém foi carregado antes de ela existir. "
            "Rode o pipeline (ou a etapa warehouse) de novo."
        ),
        "lineage_old_gold": "Esta versão gold é anterior ao registro das suas entradas silver.",
        "lineage_more": "… e mais {more} (todos em dw.cofre_lineage e no resumo da execução).",
        "not_recorded": "não registrado",
        "key": "Chave",
        "source": "Origem",
        "bytes": "Bytes",
        "landed_by": "Gravado pela execução",
        "written_by": "Escrito pela execução",
        "bronze_files": "Arquivos bronze",
        "feeds": "Alimenta (silver)",
        "empty_title": "Ainda não há dados para mostrar",
        "empty_body": "Armazém de dados: {target}\n\n{detail}\n\nRode o pipeline e recarregue:",
        "missing": "O arquivo do armazém ainda não existe.",
        "no_schema": "As tabelas dw.* ainda não foram criadas.",
        "no_rows": "As tabelas existem, mas não há vendas carregadas.",
        "cmd_synthetic": "dados Olist sintéticos, SQLite embutido",
        "cmd_real": "os 9 CSVs reais do Kaggle",
        "cmd_serve": "depois recarregue esta página",
        "unreachable_title": "O armazém de dados não respondeu",
    },
    "en": {
        "title": "Cofre · Sales dashboard",
        "other_language": "Português",
        "tab_sales": "Sales",
        "tab_operations": "Operations",
        "filters": "Filters",
        "period": "Purchase period",
        "state": "Customer state",
        "category": "Category",
        "all_states": "All states",
        "all_categories": "All categories",
        "clear": "Clear filters",
        "kpi_revenue": "Revenue",
        "kpi_orders": "Orders",
        "kpi_ticket": "Average ticket",
        "kpi_review": "Average review",
        "kpi_on_time": "On-time deliveries",
        "status_title": "Orders by status",
        "status_note": "Every order, including those without items; value = the order's payments.",
        "payments_title": "Fulfilled sales by payment type",
        "payments_note_mart": "Payments of delivered or shipped orders, by type.",
        "payments_note_facts": "With filters, each order counts under its main payment type.",
        "states_title": "Sales and customers by state",
        "customers": "Customers",
        "revenue": "Revenue",
        "categories_title": "Top 10 categories",
        "monthly_title": "Monthly revenue: nominal vs IPCA-deflated",
        "nominal": "Nominal",
        "deflated": "Deflated",
        "reference": "At {month} prices (IPCA).",
        "no_ipca": "IPCA unavailable: deflated revenue equals nominal revenue.",
        "delivery_title": "Delivery performance by state",
        "delivered_orders": "Delivered orders",
        "delivery_days": "Days to deliver",
        "on_time": "On time",
        "review": "Review",
        "weather_title": "Sales vs weather",
        "weather_rain": "Average revenue per day, by rain in the capital",
        "weather_temperature": "Average revenue per day, by mean temperature in the capital",
        "weather_days": "{days} with sales, {weather} with weather data.",
        "weather_synthetic": "SYNTHETIC weather (bundled sample, not measurements): {days}.",
        "weather_none": "No weather data in this period.",
        "weather_category": "The category filter does not apply here (weather is per state, day).",
        "rain_bands": "Dry|Up to 5 mm|5 to 20 mm|Over 20 mm",
        "temperature_bands": "Below 20 °C|20 to 25 °C|25 to 30 °C|30 °C or more",
        "unknown_state": "Unknown",
        "query_time": "query took {ms} ms",
        "partial": "partial month",
        "partial_months": (
            "* Partial months (cut by the period, or at the edge of the data with few orders "
            "recorded): {months}."
        ),
        "loaded_at": "Data loaded on {at} (UTC)",
        "synthetic_banner": (
            "SYNTHETIC sales, not real: generated by cofre (seed {seed}, {orders})."
        ),
        "sales_real": "sales: the real Olist files",
        "source_ipca": "IPCA: {source}",
        "source_weather": "weather: {source}",
        "source_live": "live",
        "source_skipped": "not fetched",
        "source_unknown": "source not recorded",
        "ipca_snapshot": "bundled snapshot (to {through})",
        "weather_snapshot": "bundled synthetic sample (to {through})",
        "filters_sales_only": "The filters apply to the Sales tab.",
        "stages_title": "Stage durations, newest run on top",
        "passed_of": "{passed} of {rows} {approved}",
        "quarantine_extra": "{objects} · {latest} in the latest run",
        "files_of": "{source}: {files}, {size}",
        "lineage_bronze_node": "Bronze (files)",
        "lineage_silver_node": "Silver (rows)",
        "lineage_gold_node": "Gold version",
        "lineage_load_node": "Warehouse",
        "lineage_details": "sha256 and files ({files})",
        "error": "Could not query the warehouse: {error}",
        "refresh": "Refresh",
        "runs_title": "Latest pipeline runs",
        "runs_prefect": "Source: the Prefect API ({note}).",
        "runs_lake": (
            "Source: run summaries in the lake ({note}); "
            "the Prefect API is not configured or did not answer."
        ),
        "runs_none": "No runs recorded yet.",
        "run": "Run",
        "flow": "Flow",
        "run_state": "State",
        "started": "Started (UTC)",
        "duration": "Duration",
        "stages": "Stages",
        "inputs_title": "Inputs and who asked (pipeline runs)",
        "requested_by": "Requested by",
        "olist_source": "Olist",
        "declared": "Declared parameters",
        "sources": "Sources",
        "olist_synthetic": "synthetic (seed {seed}, {orders})",
        "olist_not_read": "not read",
        "declared_yes": "yes",
        "declared_no": "NO: {names}",
        "quality_title": "Latest quality gate results",
        "quality_run": "Run {run}.",
        "quality_none": "No quality results recorded.",
        "dataset": "Dataset",
        "rows_in": "Rows in",
        "rows_out": "Rows passed",
        "quarantined": "Quarantined",
        "merged": "Duplicates or merged",
        "failures": "Failures",
        "quarantine_title": "Quarantine",
        "objects": "Objects",
        "rows": "Rows",
        "latest_run_rows": "Rows (latest run)",
        "quarantine_none": "Quarantine is empty.",
        "audit_title": "Audit trail",
        "audit_ok": "Intact — records verified: {records}.",
        "audit_bad": "FAILED verification: {reason}",
        "layers_title": "Lake layer sizes",
        "layer": "Layer",
        "size": "Size",
        "part_error": "Unavailable ({part}): {error}",
        "lineage_title": "Lineage of the loaded data",
        "lineage_load": (
            "Gold version {version} (manifest sha256 {sha}…) loaded into {target} at {at} "
            "(UTC) "
            "by run {run}: {rows} in {tables}."
        ),
        "lineage_silver": "Silver datasets the gold version read",
        "lineage_bronze": "Bronze files (keys relative to {root}; sha256 of their bytes)",
        "lineage_none": (
            "No lineage recorded: the warehouse was loaded before lineage existed. "
            "Run the pipeline (or the warehouse stage) again."
        ),
        "lineage_old_gold": "This gold version predates the recording of its silver inputs.",
        "lineage_more": "… and {more} more (all in dw.cofre_lineage and the run summary).",
        "not_recorded": "not recorded",
        "key": "Key",
        "source": "Source",
        "bytes": "Bytes",
        "landed_by": "Landed by run",
        "written_by": "Written by run",
        "bronze_files": "Bronze files",
        "feeds": "Feeds (silver)",
        "empty_title": "No data to show yet",
        "empty_body": "Warehouse: {target}\n\n{detail}\n\nRun the pipeline, then reload:",
        "missing": "The warehouse file does not exist yet.",
        "no_schema": "The dw.* tables have not been created yet.",
        "no_rows": "The tables exist but hold no sales yet.",
        "cmd_synthetic": "synthetic Olist data, embedded SQLite",
        "cmd_real": "the 9 real Kaggle CSVs",
        "cmd_serve": "then reload this page",
        "unreachable_title": "The warehouse did not answer",
    },
}

# Singular and plural of every noun a count is written with.
NOUNS: dict[str, dict[str, tuple[str, str]]] = {
    "pt": {"order": ("pedido", "pedidos"), "day": ("dia", "dias"),
           "state_day": ("dia-estado", "dias-estado"), "file": ("arquivo", "arquivos"),
           "bronze_file": ("arquivo bronze", "arquivos bronze"), "row": ("linha", "linhas"),
           "table": ("tabela", "tabelas"), "object": ("objeto", "objetos"),
           "approved": ("aprovada", "aprovadas"),
           "merged": ("duplicada ou agregada", "duplicadas ou agregadas")},
    "en": {"order": ("order", "orders"), "day": ("day", "days"),
           "state_day": ("state-day", "state-days"), "file": ("file", "files"),
           "bronze_file": ("bronze file", "bronze files"), "row": ("row", "rows"),
           "table": ("table", "tables"), "object": ("object", "objects"),
           "approved": ("passed", "passed"),
           "merged": ("duplicate or merged", "duplicates or merged")},
}  # fmt: skip

# Run and stage states as the pipeline (completed, failed, interrupted, skipped) and Prefect
# (Completed, Crashed, ...) record them, in the page's words; an unknown state shows as is.
RUN_STATES = {
    "pt": {"completed": "concluída", "failed": "falhou", "interrupted": "interrompida",
           "skipped": "pulada", "running": "em execução", "crashed": "caiu",
           "cancelled": "cancelada", "cancelling": "cancelando", "pending": "pendente",
           "scheduled": "agendada", "late": "atrasada", "paused": "pausada"},
    "en": {"completed": "completed", "failed": "failed", "interrupted": "interrupted",
           "skipped": "skipped", "running": "running", "crashed": "crashed",
           "cancelled": "cancelled", "cancelling": "cancelling", "pending": "pending",
           "scheduled": "scheduled", "late": "late", "paused": "paused"},
}  # fmt: skip

STATUS_LABELS = ORDER_BUCKET_LABELS  # the order buckets' panels, in each language

PAYMENT_TYPES = {
    "pt": {"credit_card": "Cartão de crédito", "boleto": "Boleto", "voucher": "Voucher",
           "debit_card": "Cartão de débito", "not_defined": "Não definido"},
    "en": {"credit_card": "Credit card", "boleto": "Boleto", "voucher": "Voucher",
           "debit_card": "Debit card", "not_defined": "Not defined"},
}  # fmt: skip


def counted(value: int | None, noun: str, language: str) -> str:
    """`counted(1, "order", "pt") == "1 pedido"`, `counted(1234, "file", "en") == "1,234 files"`."""
    one, many = NOUNS[language][noun]
    return fmt.counted(value, one, many, language)


def agreeing(value: int | None, noun: str, language: str) -> str:
    """The noun alone, agreeing with `value` ("aprovada" for 1, "aprovadas" otherwise)."""
    one, many = NOUNS[language][noun]
    return one if value == 1 else many


def run_state(state: str | None, language: str) -> str:
    """`run_state("completed", "pt") == "concluída"`; Prefect's "Completed" alike."""
    return RUN_STATES[language].get((state or "").lower(), state or "")


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else "pt"


def payment_label(kind: str | None, language: str) -> str:
    if kind is None:
        return TEXT[language]["unknown_state"]
    return PAYMENT_TYPES[language].get(kind, kind)


def state_label(state: str | None, language: str) -> str:
    return state if state else TEXT[language]["unknown_state"]
