# One image for every role: `wfo api` (default), `wfo worker`, `wfo migrate`.
#   docker build -t wfo:latest .
#   docker run --env-file .env -p 5000:5000 wfo:latest
#   docker run --env-file .env wfo:latest wfo worker
# The web app (designer/): built in a Node stage, only its static files reach the image.
FROM node:20-slim AS web
WORKDIR /web
COPY designer/package.json designer/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY designer/ ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, read from pyproject.toml: this layer is rebuilt only when it changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself. Installed in editable mode on purpose: `wfo migrate` finds the Alembic
# scripts at <source>/migrations next to the `wfo` package, which a regular wheel install lacks.
COPY . .
COPY --from=web /web/dist /app/designer/dist
RUN pip install --no-deps -e . \
    && python -m compileall -q wfo api worker activities workflows connectors migrations \
    && groupadd --gid 10001 wfo \
    && useradd --uid 10001 --gid wfo --no-create-home --home-dir /app --shell /usr/sbin/nologin wfo

# Numeric UID so Kubernetes `runAsNonRoot` can verify it. /app stays root-owned (read-only for the app).
USER 10001:10001

# Production by default: the process refuses to start with the built-in development SECRET_KEY.
ENV ENVIRONMENT=production \
    API_HOST=0.0.0.0 \
    API_PORT=5000
EXPOSE 5000

CMD ["wfo", "api", "--host", "0.0.0.0"]
