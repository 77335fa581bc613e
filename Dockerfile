# NEXUS: bot, tool server and scheduler in one image. Configure with environment variables (.env.example).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NEXUS_HOST=0.0.0.0 \
    NEXUS_PORT=8000

WORKDIR /app
RUN useradd --create-home --uid 10001 nexus

COPY pyproject.toml README.md ./
COPY domain ./domain
COPY storage ./storage
COPY tools_server ./tools_server
COPY bot ./bot
COPY integrations ./integrations
COPY nexus ./nexus
RUN pip install --upgrade pip && pip install .

USER nexus
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"NEXUS_PORT\",\"8000\")}/health', timeout=4)"

# Apply migrations, then run everything (use `serve` for extra replicas without the bot).
CMD ["sh", "-c", "nexus db upgrade && nexus run"]
