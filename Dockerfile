# Vigie: the fusion service (vigie serve) on a slim Python base, as a non-root user.
# The "sim" target adds GStreamer's RTSP server for the camera simulator.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY fusion ./fusion
COPY adapters ./adapters
COPY dashboard ./dashboard
COPY simulators ./simulators
COPY reports ./reports
COPY vigie ./vigie
RUN pip install -c constraints.txt . \
 && useradd --system --create-home --uid 10001 vigie \
 && mkdir -p /data && chown vigie /data
USER vigie
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["vigie"]
CMD ["serve", "--site", "/config/site.yaml", "--users", "/config/users.yaml", \
     "--db", "/data/vigie.db", "--broker", "mqtt://broker:1883", "--http", "0.0.0.0:8080"]

FROM base AS sim
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-gi gir1.2-gst-rtsp-server-1.0 \
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly \
      gstreamer1.0-plugins-bad gstreamer1.0-libav \
 && rm -rf /var/lib/apt/lists/*
USER vigie
