# The PIP service image: `docker build -t pip-service .`
# The project is installed in place (editable) so Alembic finds alembic.ini and
# alembic/ beside the package; `pip-service migrate` runs before the server.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY connectors ./connectors
COPY opal ./opal
COPY pip_service ./pip_service
COPY policies ./policies
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /app pip \
    && mkdir -p /app/var && chown pip /app/var

USER pip
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["uvicorn", "--factory", "pip_service.api.app:create_app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
