# Production image: the console against an external PostgreSQL (DATABASE_URL is required).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SIMVADO_ENVIRONMENT=production SIMVADO_DATA_DIR=/var/lib/simvado

WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY console ./console
COPY models ./models
COPY pages ./pages
COPY migrations ./migrations
RUN pip install --no-cache-dir -c requirements.lock . \
    && useradd --system --uid 10001 --home-dir /var/lib/simvado --create-home simvado

USER simvado
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
# `serve` migrates to head before it listens; it refuses to start without DATABASE_URL and
# SIMVADO_STORAGE_SECRET in production mode.
CMD ["simvado-console", "serve", "--host", "0.0.0.0", "--port", "8080"]
