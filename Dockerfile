# The repository's app (the library + app/) on any PostgreSQL given by
# DATABASE_URL; no embedded server in the image. See docker-compose.yml.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv
# The library first (its layer changes less often than app/), with the pinned versions.
COPY requirements/constraints.txt requirements/constraints.txt
COPY pyproject.toml README.md ./
COPY langgraph_execution_monitor ./langgraph_execution_monitor
RUN pip install -c requirements/constraints.txt '.[demo]' && rm -rf build *.egg-info
COPY app ./app
# Not root: the app writes nothing to the image.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin monitor
USER monitor
EXPOSE 8000
# serve checks the database, migrates (under dbmate's lock, so replicas may start
# together) and serves. Binding 0.0.0.0 needs MONITORING_API_TOKEN: serve refuses
# otherwise (ALLOW_NO_TOKEN=1 overrides, e.g. behind an authenticating proxy).
CMD ["python", "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", "8000"]
