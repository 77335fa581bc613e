# NEXUS: bot, tool server and scheduler in one image. Configure with environment variables (.env.example).
# Runs as the unprivileged user `nexus`; the only place it writes is the /data volume (the SQLite database
# of a single-container setup, and its home). compose.yaml runs it at scale on PostgreSQL and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/data \
    NEXUS_HOST=0.0.0.0 \
    NEXUS_PORT=8000 \
    DATABASE_URL=sqlite+aiosqlite:////data/nexus.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY storage ./storage
COPY tools_server ./tools_server
COPY bot ./bot
COPY integrations ./integrations
COPY nexus ./nexus
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home nexus \
    && mkdir -p /data \
    && chown nexus:nexus /data

USER nexus
# Relative paths (a `.env`, the default `nexus.db`) land in the volume, never in the read-only /app.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('NEXUS_PORT', '8000')}/health\", timeout=4)"]

# One container: apply the migrations, then run everything. compose.yaml runs each part as its own service.
CMD ["sh", "-c", "nexus db upgrade && exec nexus run"]
