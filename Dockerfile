# syntax=docker/dockerfile:1
# Baoxiu bot image: `docker compose up` (see docker-compose.yml and README "Running in production").

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY dispatch ./dispatch
COPY storage ./storage
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/baoxiu.db \
    BAOXIU_MEDIA_DIR=/data/media \
    BAOXIU_WEB_HOST=0.0.0.0 \
    BAOXIU_WEB_PORT=8080
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin baoxiu \
    && mkdir -p /data/media \
    && chown -R baoxiu:baoxiu /data
COPY --from=build /opt/venv /opt/venv
USER baoxiu
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /healthz: the database answers and this worker's timer and outbox loops are alive.
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('BAOXIU_WEB_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
# SIGTERM stops `baoxiu run` cleanly; whatever is still in the outbox goes out after the next start.
STOPSIGNAL SIGTERM
ENTRYPOINT ["baoxiu"]
CMD ["run", "--log-json"]
