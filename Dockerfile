# One image per service: docker build --build-arg SERVICE=certificate -t dcert-certificate .
# Its dependencies are the service's share of uv.lock, every one checked against its hash; the
# development package (dev/: embedded servers, test fixtures) and its tools never enter it.

# The service's pinned dependencies, from the one lock file of the repository.
FROM python:3.11-slim AS requirements
ARG SERVICE
WORKDIR /src
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY dev/pyproject.toml dev/
COPY services/ services/
RUN uv export --locked --package dcert-${SERVICE} --no-emit-workspace --quiet --output-file /requirements.txt

FROM python:3.11-slim AS base
ARG SERVICE
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DCERT_SERVICE_NAME=${SERVICE}
WORKDIR /app
COPY --from=requirements /requirements.txt requirements.txt
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN pip install --no-cache-dir --no-deps ./shared ./services/${SERVICE} \
    && useradd --system --uid 10001 dcert
USER dcert
EXPOSE 8000
# The process answers and reaches what it needs (the portal: answers). docker-compose.yml asks the
# services for more, /health/ready, before it starts what depends on them.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=6 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
# uvicorn's access log is off: URLs carry certificate numbers. Its proxy headers too: the client's
# address is read behind DCERT_TRUSTED_PROXIES only (dcert_shared.rate_limits).
CMD ["sh", "-c", "exec uvicorn dcert_${DCERT_SERVICE_NAME}.main:app --host 0.0.0.0 --port 8000 --no-access-log --no-proxy-headers"]
