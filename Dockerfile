# The clinic service image: one process per container, configured only through TELEHEALTH_* variables.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY telehealth telehealth
COPY signaling signaling
COPY web web
COPY migrations migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
# DejaVu Sans sets the signed-note PDFs in Unicode (names such as "Zoë Müller", signs such as "≤").
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 clinic \
    && mkdir -p /var/lib/telehealth/audit && chown clinic /var/lib/telehealth/audit
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER clinic
WORKDIR /home/clinic
ENV TELEHEALTH_HOST=0.0.0.0 TELEHEALTH_PORT=8080 TELEHEALTH_DATA_DIR=/home/clinic/data
# glibc keeps freed blocks of 32 KB and more (SDP offers, note PDFs) in its heap, which it can
# rarely hand back: after 100 slow video clients left, RSS stayed at 106 MiB against a 42 MiB
# baseline. Served from their own mappings instead, they go back to the system when freed
# (48 MiB after they left; benchmarks/README.md, "Slow consumers").
ENV MALLOC_MMAP_THRESHOLD_=32768
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz').status == 200 else 1)"
CMD ["telehealth", "serve"]
