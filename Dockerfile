# afterlaunch service image: the same install steps as the README, non-root, with a health check.
FROM python:3.11-slim

WORKDIR /app
COPY scripts/ scripts/
RUN ./scripts/system-deps.sh && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY storage/ storage/
COPY runbooks/ runbooks/
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home /data afterlaunch \
    && mkdir -p /data && chown afterlaunch /data

USER afterlaunch
ENV AFTERLAUNCH_DATA_DIR=/data \
    AFTERLAUNCH_HOST=0.0.0.0 \
    AFTERLAUNCH_RUNBOOK_DIR=/app/runbooks \
    PYTHONUNBUFFERED=1
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"
CMD ["afterlaunch", "serve"]
