FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
COPY db ./db
COPY dbmate.toml ./
RUN pip install --no-cache-dir .
EXPOSE 8000
# Migrations run in their own one-shot service (see docker-compose.yml).
ENV MIGRATE_ON_START=0
CMD ["uvicorn", "app.api.main:app", "--host", "0.0.0.0", "--port", "8000"]
