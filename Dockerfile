# Worker image for docker-compose.yml (not built by the tests: no Docker engine here).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY orchestration orchestration
COPY reasoning reasoning
COPY retrieval retrieval
COPY experiments experiments
RUN pip install --no-cache-dir -c constraints.txt ".[postgres]"
ENTRYPOINT []
