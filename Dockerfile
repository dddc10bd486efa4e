# One image per service: docker build --build-arg SERVICE=certificate -t dcert-certificate .
FROM python:3.11-slim AS base
ARG SERVICE
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DCERT_SERVICE_NAME=${SERVICE}
WORKDIR /app
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN pip install --no-cache-dir ./shared ./services/${SERVICE} \
    && useradd --system --uid 10001 dcert
USER dcert
EXPOSE 8000
# uvicorn's access log is off: URLs carry certificate numbers. Its proxy headers too: the client's
# address is read behind DCERT_TRUSTED_PROXIES only (dcert_shared.rate_limits).
CMD ["sh", "-c", "exec uvicorn dcert_${DCERT_SERVICE_NAME}.main:app --host 0.0.0.0 --port 8000 --no-access-log --no-proxy-headers"]
