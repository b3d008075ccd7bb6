# Comps' production image: the app, its dependencies installed at build, static files collected
# (WhiteNoise serves them), run by an unprivileged user. One image for every process of the stack:
# the web app (the default command, gunicorn), the worker, the scheduler, the one-off migration
# and the training sandbox, which docker-compose.yml starts with their own commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

RUN groupadd --system --gid 10001 comps \
    && useradd --system --uid 10001 --gid comps --home-dir /app --shell /usr/sbin/nologin comps

# Dependencies first, from pyproject.toml alone, so that a code change reuses this layer.
COPY pyproject.toml README.md ./
RUN mkdir -p backoffice tickets \
    && touch backoffice/__init__.py tickets/__init__.py \
    && pip install --no-cache-dir . \
    && pip uninstall --yes comps-backoffice

# The code stays root's: the app cannot rewrite itself. Only /app/var (the training sandbox's
# state, files being prepared for download) is the app's to write.
COPY . .
RUN pip install --no-cache-dir --no-deps . \
    && SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktbmV2ZXItdXNlZC0zMmJ5dGU= \
       python manage.py collectstatic --noinput -v 0 \
    && install -d -o comps -g comps /app/var \
    && install -d -o comps -g comps -m 700 /app/var/exports

USER 10001
EXPOSE 8000

# Workers and timeout from the environment: GUNICORN_CMD_ARGS="--workers 4 --timeout 60". No
# access log: the app logs each request itself, as JSON with its id, and never its path or query
# (a guest page's path is its key; a search's query holds the names searched for).
CMD ["gunicorn", "backoffice.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--timeout", "60", "--forwarded-allow-ips", "*"]
