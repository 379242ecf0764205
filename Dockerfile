FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not re-download them.
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY api ./api
COPY infra ./infra
RUN pip install .

RUN useradd --create-home --uid 10001 overgang \
    && mkdir -p /data && chown overgang:overgang /data
USER overgang

# Embedded (SQLite) data goes here when OVERGANG_DATABASE_URL is unset.
ENV OVERGANG_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000

CMD ["overgang", "serve", "--host", "0.0.0.0", "--port", "8000"]
