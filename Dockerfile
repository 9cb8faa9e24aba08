FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bot bot
COPY connectors connectors
COPY knowledge knowledge
COPY workers workers
COPY service service
RUN pip install ".[llm]"
EXPOSE 8000
CMD ["supportbot", "serve", "--host", "0.0.0.0"]
